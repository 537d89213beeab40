"""Triage of alerts: assign, resolve as justified or abuse (abuse opens a register incident in
one step); every triage action is an audit event; seeded requests carry the seeding flag."""

from __future__ import annotations

import json
import uuid

import asyncpg
import httpx
import pytest

from common.devstack import Stack
from tests.audit.support import Events, SignedProducer, care, staff
from tests.audit.test_alert_quality import send_all
from tests.audit.test_alerts import alerts_of
from tests.helpers import Account, admin, eventually, make_user

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
async def director(stack: Stack, http: httpx.AsyncClient) -> Account:
    """A medical director."""
    return await make_user(http, stack, "medical_director")


@pytest.fixture
async def alert(
    stack: Stack,
    http: httpx.AsyncClient,
    db: asyncpg.Connection,
    producer: SignedProducer,
    events: Events,
    director: Account,
) -> dict:
    """A fresh open outside_care_team alert."""
    actor = staff("assistant")
    event = await events.make(worker_id=f"w-{uuid.uuid4()}", actor=actor, details=care(False))
    await send_all(db, producer, [event])
    (found,) = await alerts_of(stack, http, director, actor_user_id=actor["user_id"])
    return found


async def traced(db: asyncpg.Connection, action: str, alert_id: str) -> asyncpg.Record:
    """The audit event of a triage action on an alert, once chained."""
    return await eventually(
        lambda: db.fetchrow(
            "SELECT source, actor_user_id, body FROM event WHERE action = $1 "
            "AND body::jsonb -> 'details' ->> 'alert_id' = $2",
            action,
            alert_id,
        )
    )


async def test_assign_then_resolve_justified(stack, http, db, director: Account, alert: dict):
    base = f"{stack.url('audit')}/alerts/{alert['id']}"
    resp = await http.post(
        f"{base}/assign", json={"assignee": "dpo.maes"}, headers=director.headers
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["assigned_to"] == "dpo.maes"
    assert resp.json()["status"] == "open"
    row = await traced(db, "alert_assigned", alert["id"])
    assert (row["source"], row["actor_user_id"]) == ("audit", director.id)
    resp = await http.post(
        f"{base}/resolve",
        json={"resolution": "justified", "comment": "Covering the night shift"},
        headers=director.headers,
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["status"], body["resolution"]) == ("resolved", "justified")
    assert body["resolution_comment"] == "Covering the night shift"
    assert body["resolved_by"] == director.display_name and body["incident_id"] is None
    await traced(db, "alert_resolved", alert["id"])
    again = await http.post(
        f"{base}/resolve", json={"resolution": "abuse", "comment": "x"}, headers=director.headers
    )
    assert again.status_code == 409
    late = await http.post(f"{base}/assign", json={"assignee": "x"}, headers=director.headers)
    assert late.status_code == 409
    resolved = await alerts_of(
        stack, http, director, status="resolved", actor_user_id=alert["actor_user_id"]
    )
    assert [a["id"] for a in resolved] == [alert["id"]]


async def test_abuse_opens_an_incident_in_one_step(stack, http, db, director: Account, alert: dict):
    resp = await http.post(
        f"{stack.url('audit')}/alerts/{alert['id']}/resolve",
        json={"resolution": "abuse", "comment": "No reason to open it", "open_incident": True},
        headers=director.headers,
    )
    assert resp.status_code == 200, resp.text
    incident_id = resp.json()["incident_id"]
    assert incident_id and resp.json()["resolution"] == "abuse"
    officer = await admin(http, stack)
    incident = await http.get(
        f"{stack.url('register')}/incidents/{incident_id}", headers=officer.headers
    )
    assert incident.status_code == 200, incident.text
    assert incident.json()["alert_id"] == alert["id"]
    assert incident.json()["kind"] == "illicit_access"
    row = await traced(db, "alert_resolved", alert["id"])
    assert json.loads(row["body"])["details"]["incident_id"] == incident_id


async def test_only_abuse_opens_an_incident(stack, http, director: Account, alert: dict):
    resp = await http.post(
        f"{stack.url('audit')}/alerts/{alert['id']}/resolve",
        json={"resolution": "justified", "comment": "ok", "open_incident": True},
        headers=director.headers,
    )
    assert resp.status_code == 409


async def test_register_refuses_unsigned_abuse(stack, http, director: Account):
    resp = await http.post(
        f"{stack.url('register')}/alert-intake",
        json={"alert_id": str(uuid.uuid4())},
        headers=director.headers,
    )
    assert resp.status_code == 403


async def test_staff_may_not_triage(stack, http, alert: dict):
    nurse = await make_user(http, stack, "assistant")
    for verb, body in (
        ("assign", {"assignee": "me"}),
        ("resolve", {"resolution": "justified", "comment": "fine"}),
    ):
        resp = await http.post(
            f"{stack.url('audit')}/alerts/{alert['id']}/{verb}", json=body, headers=nurse.headers
        )
        assert resp.status_code == 403


async def test_seeding_requests_are_flagged(stack, http, db):
    """A demo load's request: its events say so (outside production), and raise nothing."""
    officer = await admin(http, stack)
    resp = await http.get(
        f"{stack.url('audit')}/alerts",
        params={"limit": 1},
        headers={**officer.headers, "X-OHS-Seeding": "demo"},
    )
    assert resp.status_code == 200
    row = await eventually(
        lambda: db.fetchrow(
            "SELECT body FROM event WHERE action = 'read_alerts' AND actor_user_id = $1 "
            "AND body::jsonb -> 'details' ->> 'seeding' = 'true'",
            officer.id,
        )
    )
    assert row is not None
