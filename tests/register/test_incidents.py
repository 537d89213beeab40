"""Incidents and breaches over HTTP: the 72-hour rule, Art. 33 facts, alerts, events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from common.devstack import Stack
from tests.helpers import Account
from tests.register.conftest import assert_problem, register_events

pytestmark = pytest.mark.asyncio

FACTS = {
    "breach_nature": ["confidentiality"],
    "subject_categories": ["Workers"],
    "approx_subjects": 40,
    "data_categories": ["Exam results"],
    "approx_records": 120,
    "likely_consequences": "Disclosure of health data to an employer",
    "measures_taken": "Mail recalled, recipient asked to delete",
    "dpo_contact": "dpo@ohs.example",
}


def ago(hours: float) -> str:
    """An RFC 3339 moment some hours ago."""
    return (datetime.now(UTC) - timedelta(hours=hours)).isoformat()


async def create(http: httpx.AsyncClient, reg: str, who: Account, **body: object) -> dict:
    """POST /incidents, expecting 201."""
    resp = await http.post(f"{reg}/incidents", json=body, headers=who.headers)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


class TestBreachDeadline:
    async def test_declared_73_hours_late_without_reason_is_422(
        self, http: httpx.AsyncClient, reg: str, officer: Account, stack: Stack
    ):
        before = stack.postgres.psql("SELECT count(*) FROM incident", "register")
        resp = await http.post(
            f"{reg}/incidents",
            json={
                "kind": "misdirected_medical_data", "title": "Results mailed to employer",
                "personal_data_breach": True, "aware_at": ago(73), **FACTS,
            },
            headers=officer.headers,
        )  # fmt: skip
        body = assert_problem(resp, 422)
        assert "73.0 hours after awareness" in body["detail"]
        assert "72-hour" in body["detail"] and "late_reason" in body["detail"]
        assert body["errors"][0]["field"] == "body.late_reason"
        assert stack.postgres.psql("SELECT count(*) FROM incident", "register") == before

    async def test_declared_late_with_reason_is_recorded(
        self, http: httpx.AsyncClient, reg: str, officer: Account
    ):
        body = await create(
            http, reg, officer, kind="lost_or_stolen_equipment", title="Laptop stolen",
            personal_data_breach=True, aware_at=ago(73),
            late_reason="Theft reported by the employee only after the weekend", **FACTS,
        )  # fmt: skip
        assert body["notification_overdue"] is True
        deadline = datetime.fromisoformat(body["notification_deadline"])
        aware = datetime.fromisoformat(body["aware_at"])
        assert deadline - aware == timedelta(hours=72)
        overdue = await http.get(f"{reg}/incidents/notification-overdue", headers=officer.headers)
        assert body["id"] in [i["id"] for i in overdue.json()]

    async def test_notified_73_hours_after_awareness_needs_reason(
        self, http: httpx.AsyncClient, reg: str, officer: Account, stack: Stack
    ):
        aware = datetime.now(UTC) - timedelta(hours=80)
        body = await create(
            http, reg, officer, kind="hacking", title="Phishing", personal_data_breach=True,
            aware_at=(datetime.now(UTC) - timedelta(hours=2)).isoformat(), **FACTS,
        )  # fmt: skip
        stack.postgres.psql(
            f"UPDATE incident SET aware_at = '{aware.isoformat()}' WHERE id = '{body['id']}'",
            "register",
        )
        url = f"{reg}/incidents/{body['id']}/notification"
        late = (aware + timedelta(hours=73)).isoformat()
        resp = await http.post(url, json={"notified_at": late}, headers=officer.headers)
        problem = assert_problem(resp, 422)
        assert "Notified 73.0 hours after awareness" in problem["detail"]
        assert "Art. 33(1)" in problem["detail"]
        ok = await http.post(
            url, json={"notified_at": late, "late_reason": "Scope unclear until forensics"},
            headers=officer.headers,
        )  # fmt: skip
        assert ok.status_code == 200, ok.text
        assert ok.json()["notified_late"] is True
        again = await http.post(url, json={}, headers=officer.headers)
        assert_problem(again, 409)

    async def test_notified_in_time(
        self, http: httpx.AsyncClient, reg: str, officer: Account, stack: Stack
    ):
        body = await create(
            http, reg, officer, kind="disclosure", title="Mail to wrong person",
            personal_data_breach=True, aware_at=ago(10), **FACTS,
        )  # fmt: skip
        resp = await http.post(
            f"{reg}/incidents/{body['id']}/notification",
            json={"authority_reference": "APD-2026-001"},
            headers=officer.headers,
        )
        assert resp.status_code == 200, resp.text
        assert resp.json()["notified_late"] is False
        assert resp.json()["authority_reference"] == "APD-2026-001"
        events = await register_events(
            stack, [("incident_created", body["id"]), ("breach_notified", body["id"])]
        )
        notified = next(
            e
            for e in events
            if e["action"] == "breach_notified" and e["resource"]["id"] == body["id"]
        )
        assert notified["details"]["late"] is False

    async def test_notification_needs_art_33_facts(
        self, http: httpx.AsyncClient, reg: str, officer: Account
    ):
        body = await create(
            http, reg, officer, kind="illicit_copy", title="USB copy", personal_data_breach=True
        )
        resp = await http.post(
            f"{reg}/incidents/{body['id']}/notification", json={}, headers=officer.headers
        )
        problem = assert_problem(resp, 422)
        assert "approx_subjects" in problem["detail"] and "measures_taken" in problem["detail"]

    async def test_notification_times_checked(
        self, http: httpx.AsyncClient, reg: str, officer: Account
    ):
        body = await create(
            http, reg, officer, kind="disclosure", title="Fax", personal_data_breach=True,
            aware_at=ago(5), **FACTS,
        )  # fmt: skip
        url = f"{reg}/incidents/{body['id']}/notification"
        for when in (ago(6), ago(-24), "2026-01-01T10:00:00"):
            assert_problem(
                await http.post(url, json={"notified_at": when}, headers=officer.headers), 422
            )

    async def test_plain_incident_is_not_notified(
        self, http: httpx.AsyncClient, reg: str, officer: Account
    ):
        body = await create(http, reg, officer, kind="network_unavailability", title="Outage")
        assert body["notification_deadline"] is None
        resp = await http.post(
            f"{reg}/incidents/{body['id']}/notification", json={}, headers=officer.headers
        )
        assert_problem(resp, 409)

    async def test_qualifying_an_old_incident_as_breach_needs_reason(
        self, http: httpx.AsyncClient, reg: str, officer: Account
    ):
        body = await create(
            http, reg, officer, kind="printout_left_at_printer", title="Print-out found",
            aware_at=ago(100),
        )  # fmt: skip
        url = f"{reg}/incidents/{body['id']}"
        resp = await http.patch(
            url, json={"version": 1, "personal_data_breach": True}, headers=officer.headers
        )
        assert "late_reason" in assert_problem(resp, 422)["detail"]
        resp = await http.patch(
            url,
            json={"version": 1, "personal_data_breach": True, "late_reason": "Found late"},
            headers=officer.headers,
        )
        assert resp.status_code == 200, resp.text
        assert resp.json()["version"] == 2


class TestIncidentRegister:
    async def test_open_from_audit_alert_links_back(
        self, http: httpx.AsyncClient, reg: str, officer: Account, stack: Stack
    ):
        alert = str(uuid.uuid4())
        body = await create(
            http, reg, officer, kind="colleague_curiosity", title="Colleague opened file",
            alert_id=alert, worker_id="w-123",
        )  # fmt: skip
        assert body["alert_id"] == alert
        assert body["alert_url"] == f"{stack.url('audit')}/alerts/{alert}"
        dup = await http.post(
            f"{reg}/incidents", json={"kind": "illicit_access", "title": "x", "alert_id": alert},
            headers=officer.headers,
        )  # fmt: skip
        assert body["id"] == assert_problem(dup, 409)["incident_id"]

    async def test_versioned_update_and_art_34(
        self, http: httpx.AsyncClient, reg: str, officer: Account
    ):
        body = await create(
            http, reg, officer, kind="sabotage", title="Records deleted",
            personal_data_breach=True, **FACTS,
        )  # fmt: skip
        url = f"{reg}/incidents/{body['id']}"
        no_reason = await http.patch(
            url, json={"version": 1, "subjects_informed": False}, headers=officer.headers
        )
        assert "Art. 34" in assert_problem(no_reason, 422)["detail"]
        ok = await http.patch(
            url, json={"version": 1, "subjects_informed": True, "status": "investigating"},
            headers=officer.headers,
        )  # fmt: skip
        assert ok.json()["subjects_informed_at"] is not None
        assert ok.json()["version"] == 2
        stale = await http.patch(url, json={"version": 1, "title": "x"}, headers=officer.headers)
        assert assert_problem(stale, 409)["current_version"] == 2
        nulled = await http.patch(url, json={"version": 2, "title": None}, headers=officer.headers)
        assert_problem(nulled, 422)
        closed = await http.patch(
            url, json={"version": 2, "status": "closed"}, headers=officer.headers
        )
        assert closed.json()["closed_at"] is not None

    @pytest.mark.parametrize(
        "body",
        [
            {"kind": "alien_invasion", "title": "x"},
            {"kind": "hacking"},
            {"kind": "hacking", "title": "x", "aware_at": "2026-01-01T10:00:00"},
            {"kind": "hacking", "title": "x", "aware_at": "3000-01-01T10:00:00Z"},
            {"kind": "hacking", "title": "x", "approx_subjects": -1},
            {"kind": "hacking", "title": "x", "breach_nature": ["smell"]},
            {"kind": "hacking", "title": "x", "aware_at": "2026-01-01T10:00:00Z",
             "occurred_at": "2026-01-02T10:00:00Z"},
        ],
    )  # fmt: skip
    async def test_bad_bodies(
        self, http: httpx.AsyncClient, reg: str, officer: Account, body: dict
    ):
        assert_problem(await http.post(f"{reg}/incidents", json=body, headers=officer.headers), 422)

    async def test_rights(
        self, http: httpx.AsyncClient, reg: str, director: Account, physician: Account,
        worker_a: Account, assistant: Account,
    ):  # fmt: skip
        for reader in (director, physician):
            assert (await http.get(f"{reg}/incidents", headers=reader.headers)).status_code == 200
            resp = await http.post(
                f"{reg}/incidents", json={"kind": "hacking", "title": "x"}, headers=reader.headers
            )
            assert_problem(resp, 403)
        for other in (worker_a, assistant):
            assert_problem(await http.get(f"{reg}/incidents", headers=other.headers), 403)
        assert_problem(await http.get(f"{reg}/incidents"), 401)
        missing = f"{reg}/incidents/00000000-0000-4000-8000-000000000000"
        assert_problem(await http.get(missing, headers=director.headers), 404)
