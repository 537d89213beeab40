"""Alert rules of the monitoring committee, and acknowledgements (alerts are events too)."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
import pytest

from common.devstack import Stack
from tests.audit.support import Events, SignedProducer, care, publish, staff, stored
from tests.helpers import Account, admin, eventually, make_user

pytestmark = pytest.mark.asyncio
OWN_EMPLOYER = "Occupational Health Service"


@pytest.fixture(scope="module")
async def director(stack: Stack, http: httpx.AsyncClient) -> Account:
    """A medical director."""
    return await make_user(http, stack, "medical_director")


async def alerts_of(
    stack: Stack, http: httpx.AsyncClient, who: Account, **params: str
) -> list[dict]:
    """GET /alerts with filters."""
    resp = await http.get(f"{stack.url('audit')}/alerts", params=params, headers=who.headers)
    assert resp.status_code == 200, resp.text
    return list(resp.json()["items"])


async def send_and_wait(db: asyncpg.Connection, producer: SignedProducer, *envelopes) -> None:
    """Publish and wait until stored (and folded, in the same transaction)."""
    await publish(producer, *envelopes)
    await eventually(lambda: stored(db, *envelopes))


class TestFileAccessRules:
    @pytest.mark.parametrize(
        ("profile", "part", "details", "kinds"),
        [
            ("physician", "exam", care(False), {"outside_care_team"}),
            ("assistant", "notes", care(False), {"outside_care_team"}),
            ("physician", "exam", care(True), set()),
            ("physician", "administrative", care(False), set()),
            ("medical_director", "exam", care(False), set()),
            ("physician", "exam", care(True, OWN_EMPLOYER), {"colleague_file"}),
            ("admin_staff", "administrative", care(True, OWN_EMPLOYER.upper()), {"colleague_file"}),
            ("developer", "exam", care(False, grant="g-1"), {"outside_care_team", "grant_use"}),
        ],
    )
    async def test_rules(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        db: asyncpg.Connection,
        producer: SignedProducer,
        events: Events,
        director: Account,
        profile: str,
        part: str,
        details: dict,
        kinds: set[str],
    ):
        actor = staff(profile)
        event = await events.make(
            worker_id=f"w-{uuid.uuid4()}",
            actor=actor,
            part=part,
            details=details,
            purpose="fix a rendering bug" if details.get("grant_id") else None,
        )
        await send_and_wait(db, producer, event)
        found = await alerts_of(stack, http, director, actor_user_id=actor["user_id"])
        assert {a["kind"] for a in found} == kinds
        for alert in found:
            assert alert["worker_id"] == event.worker_id
            assert alert["event_id"] == str(event.event_id)
            assert alert["actor_profile"] == profile
            assert alert["status"] == "open"
        if "grant_use" in kinds:
            grant = next(a for a in found if a["kind"] == "grant_use")
            assert "fix a rendering bug" in grant["summary"]

    async def test_alerts_are_events_too(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        db: asyncpg.Connection,
        producer: SignedProducer,
        events: Events,
        director: Account,
    ):
        actor = staff()
        event = await events.make(worker_id=f"w-{uuid.uuid4()}", actor=actor, details=care(False))
        await send_and_wait(db, producer, event)
        (alert,) = await alerts_of(stack, http, director, actor_user_id=actor["user_id"])
        row = await db.fetchrow(
            "SELECT source, action FROM event WHERE action = 'alert_raised' "
            "AND body::jsonb -> 'details' ->> 'alert_id' = $1",
            alert["id"],
        )
        assert tuple(row) == ("audit", "alert_raised")


class TestWindowRules:
    async def test_mass_access_alerts_once(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        db: asyncpg.Connection,
        producer: SignedProducer,
        events: Events,
        director: Account,
    ):
        actor = staff("assistant")
        batch = [
            await events.make(
                worker_id=f"w-{uuid.uuid4()}", actor=actor, part="administrative",
                details=care(False),
            )
            for _ in range(24)
        ]  # fmt: skip
        await send_and_wait(db, producer, *batch)
        found = await alerts_of(stack, http, director, actor_user_id=actor["user_id"])
        assert [a["kind"] for a in found] == ["mass_access"]
        assert "21 files outside their care team" in found[0]["summary"]

    async def test_twenty_files_is_not_mass_access(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        db: asyncpg.Connection,
        producer: SignedProducer,
        events: Events,
        director: Account,
    ):
        actor = staff("assistant")
        worker_ids = [f"w-{uuid.uuid4()}" for _ in range(20)]
        batch = [
            await events.make(worker_id=w, actor=actor, part="administrative", details=care(False))
            for w in worker_ids + worker_ids[:5]
        ]
        await send_and_wait(db, producer, *batch)
        assert await alerts_of(stack, http, director, actor_user_id=actor["user_id"]) == []

    async def test_repeated_denials_alert_once(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        db: asyncpg.Connection,
        producer: SignedProducer,
        events: Events,
        director: Account,
    ):
        actor = staff("helpdesk")
        worker = f"w-{uuid.uuid4()}"
        two = [await events.make(worker_id=worker, actor=actor, outcome="denied") for _ in range(2)]
        await send_and_wait(db, producer, *two)
        assert await alerts_of(stack, http, director, actor_user_id=actor["user_id"]) == []
        more = [
            await events.make(worker_id=worker, actor=actor, outcome="denied") for _ in range(3)
        ]
        await send_and_wait(db, producer, *more)
        found = await alerts_of(stack, http, director, actor_user_id=actor["user_id"])
        assert [a["kind"] for a in found] == ["repeated_denials"]

    async def test_lockout_from_identity(
        self, stack: Stack, http: httpx.AsyncClient, director: Account
    ):
        victim = await make_user(http, stack, "physician")
        for _ in range(3):
            resp = await http.post(
                f"{stack.url('identity')}/auth/login",
                json={"username": victim.username, "password": "wrong-Passw0rd!"},
            )
            assert resp.status_code in (401, 423)

        async def lockout():
            found = await alerts_of(stack, http, director, kind="lockout")
            return [a for a in found if victim.username in a["summary"]]

        (alert,) = await eventually(lockout, timeout=30)
        assert alert["severity"] == "medium"


class TestAcknowledge:
    @pytest.fixture
    async def alert(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        db: asyncpg.Connection,
        producer: SignedProducer,
        events: Events,
        director: Account,
    ) -> dict:
        """A fresh open alert."""
        actor = staff()
        event = await events.make(worker_id=f"w-{uuid.uuid4()}", actor=actor, details=care(False))
        await send_and_wait(db, producer, event)
        (found,) = await alerts_of(stack, http, director, actor_user_id=actor["user_id"])
        return found

    async def test_acknowledge_once_with_a_comment(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        db: asyncpg.Connection,
        director: Account,
        alert: dict,
    ):
        url = f"{stack.url('audit')}/alerts/{alert['id']}/acknowledge"
        resp = await http.post(url, json={"comment": "Checked: covering a colleague"},
                               headers=director.headers)  # fmt: skip
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["status"] == "acknowledged"
        assert body["acknowledged_by"] == director.display_name
        assert body["comment"] == "Checked: covering a colleague"
        again = await http.post(url, json={"comment": "again"}, headers=director.headers)
        assert again.status_code == 409
        assert again.headers["content-type"] == "application/problem+json"
        traced = await eventually(
            lambda: db.fetchrow(
                "SELECT source, actor_user_id FROM event WHERE action = 'alert_acknowledged' "
                "AND body::jsonb -> 'details' ->> 'alert_id' = $1",
                alert["id"],
            )
        )
        assert tuple(traced) == ("audit", director.id)
        acknowledged = await alerts_of(
            stack, http, director, status="acknowledged", actor_user_id=alert["actor_user_id"]
        )
        assert [a["id"] for a in acknowledged] == [alert["id"]]
        assert (
            await alerts_of(
                stack, http, director, status="open", actor_user_id=alert["actor_user_id"]
            )
            == []
        )

    async def test_officer_may_acknowledge(
        self, stack: Stack, http: httpx.AsyncClient, alert: dict
    ):
        officer = await admin(http, stack)
        resp = await http.post(
            f"{stack.url('audit')}/alerts/{alert['id']}/acknowledge",
            json={"comment": "seen"},
            headers=officer.headers,
        )
        assert resp.status_code == 200

    @pytest.mark.parametrize(
        ("body", "status"),
        [
            ({"comment": ""}, 422),
            ({}, 422),
            ({"comment": "x" * 2001}, 422),
            ({"comment": "ok", "extra": 1}, 422),
            ("not json", 400),
        ],
    )
    async def test_bad_bodies(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        director: Account,
        alert: dict,
        body,
        status: int,
    ):
        url = f"{stack.url('audit')}/alerts/{alert['id']}/acknowledge"
        if isinstance(body, str):
            resp = await http.post(
                url, content=body, headers={**director.headers, "content-type": "application/json"}
            )
        else:
            resp = await http.post(url, json=body, headers=director.headers)
        assert resp.status_code == status, resp.text
        assert resp.headers["content-type"] == "application/problem+json"
        still = await alerts_of(stack, http, director, actor_user_id=alert["actor_user_id"])
        assert still[0]["status"] == "open"

    async def test_unknown_and_malformed_ids(
        self, stack: Stack, http: httpx.AsyncClient, director: Account
    ):
        base = f"{stack.url('audit')}/alerts"
        unknown = await http.post(
            f"{base}/{uuid.uuid4()}/acknowledge", json={"comment": "x"}, headers=director.headers
        )
        assert unknown.status_code == 404
        malformed = await http.post(
            f"{base}/not-a-uuid/acknowledge", json={"comment": "x"}, headers=director.headers
        )
        assert malformed.status_code == 422

    async def test_staff_may_not(self, stack: Stack, http: httpx.AsyncClient, alert: dict):
        physician = await make_user(http, stack, "physician")
        resp = await http.post(
            f"{stack.url('audit')}/alerts/{alert['id']}/acknowledge",
            json={"comment": "x"},
            headers=physician.headers,
        )
        assert resp.status_code == 403


class TestAlertList:
    async def test_cursor_pages(self, stack: Stack, http: httpx.AsyncClient, director: Account):
        url = f"{stack.url('audit')}/alerts"
        first = (await http.get(url, params={"limit": 2}, headers=director.headers)).json()
        assert len(first["items"]) == 2 and first["next_cursor"]
        second = (
            await http.get(
                url, params={"limit": 2, "cursor": first["next_cursor"]}, headers=director.headers
            )
        ).json()
        assert not {a["id"] for a in first["items"]} & {a["id"] for a in second["items"]}
        bad = await http.get(url, params={"cursor": "zzz"}, headers=director.headers)
        assert bad.status_code == 422
