"""Histories, alerts, reports over HTTP with real tokens from identity."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest
from fhir.resources.R4B.auditevent import AuditEvent
from fhir.resources.R4B.bundle import Bundle

from common.devstack import Stack
from tests.audit.support import Events, SignedProducer, care, publish, staff, stored
from tests.helpers import INITIAL_PASSWORD, Account, admin, eventually, first_login, make_user

pytestmark = pytest.mark.asyncio
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
async def director(stack: Stack, http: httpx.AsyncClient) -> Account:
    """A medical director."""
    return await make_user(http, stack, "medical_director")


@pytest.fixture(scope="module")
async def officer(stack: Stack, http: httpx.AsyncClient) -> Account:
    """The security officer."""
    return await admin(http, stack)


@pytest.fixture(scope="module")
async def physician(stack: Stack, http: httpx.AsyncClient) -> Account:
    """A physician (no access to traces)."""
    return await make_user(http, stack, "physician")


class FileAccesses:
    """A worker with an account and exactly the accesses published in the test."""

    def __init__(self, worker_id: str, account: Account, published: list) -> None:
        self.worker_id = worker_id
        self.account = account
        self.published = published


@pytest.fixture(scope="module")
async def accessed(
    stack: Stack,
    http: httpx.AsyncClient,
    db: asyncpg.Connection,
    producer: SignedProducer,
    events: Events,
) -> FileAccesses:
    """A worker's file read, printed and noted by staff; another file touched too."""
    worker_id = f"w-{uuid.uuid4()}"
    account = await make_user(http, stack, "worker", worker_id=worker_id)
    doctor = staff("physician", "Dr Alice Martin")
    nurse = staff("assistant", "Bob Nurse")
    t0 = datetime.now(UTC) - timedelta(minutes=30)
    published = [
        await events.make(worker_id=worker_id, actor=doctor, action="read", part="exam",
                          details=care(), occurred_at=t0),
        await events.make(worker_id=worker_id, actor=nurse, action="update", part="exam",
                          details=care(), occurred_at=t0 + timedelta(minutes=5)),
        await events.make(worker_id=worker_id, actor=doctor, action="read", part="notes",
                          details=care(), occurred_at=t0 + timedelta(minutes=10)),
        await events.make(worker_id=worker_id, actor=doctor, action="print", part="record",
                          details=care(), occurred_at=t0 + timedelta(minutes=15)),
    ]  # fmt: skip
    other = await events.make(worker_id=f"w-{uuid.uuid4()}", actor=doctor, details=care())
    await publish(producer, *published, other)
    await eventually(lambda: stored(db, *published, other))
    return FileAccesses(worker_id, account, published)


class TestWorkerHistory:
    async def test_lists_exactly_the_accesses_newest_first(
        self, stack: Stack, http: httpx.AsyncClient, accessed: FileAccesses
    ):
        resp = await http.get(
            f"{stack.url('audit')}/me/access-history", headers=accessed.account.headers
        )
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["worker_id"] == accessed.worker_id
        ids = [e["event_id"] for e in body["items"]]
        assert ids == [str(e.event_id) for e in reversed(accessed.published)]
        notes = next(e for e in body["items"] if e["part"] == "notes")
        assert notes["actor_name"] == "Dr Alice Martin"
        assert notes["actor_profile"] == "physician"
        assert notes["outcome"] == "success"
        assert set(notes) >= {"occurred_at", "actor_name", "actor_profile", "action", "resource"}
        assert all(e["details"] is None for e in body["items"])

    async def test_cursor_pagination_covers_every_entry_once(
        self, stack: Stack, http: httpx.AsyncClient, accessed: FileAccesses
    ):
        seen, cursor = [], None
        for _ in range(5):
            params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
            resp = await http.get(
                f"{stack.url('audit')}/me/access-history",
                params=params,
                headers=accessed.account.headers,
            )
            assert resp.status_code == 200
            seen += [e["event_id"] for e in resp.json()["items"]]
            cursor = resp.json()["next_cursor"]
            if cursor is None:
                break
        assert seen == [str(e.event_id) for e in reversed(accessed.published)]

    @pytest.mark.parametrize(
        ("params", "expected"),
        [
            ({"action": "print"}, [3]),
            ({"action": "read"}, [2, 0]),
            ({"profile": "assistant"}, [1]),
        ],
    )
    async def test_filters(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        accessed: FileAccesses,
        params: dict,
        expected: list[int],
    ):
        resp = await http.get(
            f"{stack.url('audit')}/me/access-history",
            params=params,
            headers=accessed.account.headers,
        )
        assert resp.status_code == 200
        ids = [e["event_id"] for e in resp.json()["items"]]
        assert ids == [str(accessed.published[i].event_id) for i in expected]

    async def test_period_filter(
        self, stack: Stack, http: httpx.AsyncClient, accessed: FileAccesses
    ):
        first = accessed.published[0].occurred_at
        params = {
            "from": (first + timedelta(minutes=1)).isoformat(),
            "to": (first + timedelta(minutes=11)).isoformat(),
        }
        resp = await http.get(
            f"{stack.url('audit')}/me/access-history",
            params=params,
            headers=accessed.account.headers,
        )
        ids = [e["event_id"] for e in resp.json()["items"]]
        assert ids == [str(accessed.published[i].event_id) for i in (2, 1)]

    async def test_reading_a_history_is_an_event(
        self, stack: Stack, http: httpx.AsyncClient, db: asyncpg.Connection, accessed
    ):
        before = datetime.now(UTC)
        await http.get(f"{stack.url('audit')}/me/access-history", headers=accessed.account.headers)
        row = await eventually(
            lambda: db.fetchrow(
                "SELECT source, actor_user_id FROM event WHERE action = 'read_history' "
                "AND worker_id = $1 AND occurred_at >= $2",
                accessed.worker_id,
                before,
            )
        )
        assert row["source"] == "audit"
        assert row["actor_user_id"] == accessed.account.id

    async def test_guardian_sees_the_ward(
        self, stack: Stack, http: httpx.AsyncClient, accessed: FileAccesses
    ):
        officer = await admin(http, stack)
        resp = await http.post(
            f"{stack.url('identity')}/users",
            headers=officer.headers,
            json={
                "username": f"guardian-{uuid.uuid4().hex[:8]}",
                "display_name": "A Parent",
                "profile": "worker",
                "password": INITIAL_PASSWORD,
                "worker_id": f"w-{uuid.uuid4()}",
                "guardian_of": [accessed.worker_id],
                "ward_birth_dates": {accessed.worker_id: "2012-03-04"},
            },
        )
        assert resp.status_code == 201, resp.text
        tokens = await first_login(http, stack, resp.json()["username"])
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        ward = await http.get(
            f"{stack.url('audit')}/me/access-history",
            params={"worker_id": accessed.worker_id},
            headers=headers,
        )
        assert ward.status_code == 200, ward.text
        assert len(ward.json()["items"]) == len(accessed.published)
        stranger = await http.get(
            f"{stack.url('audit')}/me/access-history",
            params={"worker_id": f"w-{uuid.uuid4()}"},
            headers=headers,
        )
        assert stranger.status_code == 403


class TestMonitorHistory:
    async def test_director_sees_details_officer_does_not(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        accessed: FileAccesses,
        director: Account,
        officer: Account,
    ):
        url = f"{stack.url('audit')}/access-history/{accessed.worker_id}"
        by_director = (await http.get(url, headers=director.headers)).json()["items"]
        by_officer = (await http.get(url, headers=officer.headers)).json()["items"]
        assert [e["event_id"] for e in by_director] == [e["event_id"] for e in by_officer]
        assert by_director[0]["details"] == care()
        assert all(e["details"] is None for e in by_officer)


class TestRefusals:
    @pytest.mark.parametrize(
        "path",
        ["/me/access-history", "/access-history/w-1", "/alerts", "/integrity", "/actor-activity"],
    )
    async def test_no_token_is_401(self, stack: Stack, http: httpx.AsyncClient, path: str):
        resp = await http.get(f"{stack.url('audit')}{path}")
        assert resp.status_code == 401
        assert resp.headers["content-type"] == PROBLEM

    @pytest.mark.parametrize(
        "path", ["/access-history/w-1", "/alerts", "/integrity", "/access-history/w-1/fhir"]
    )
    async def test_staff_and_workers_are_403(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        physician: Account,
        accessed: FileAccesses,
        path: str,
    ):
        for account in (physician, accessed.account):
            resp = await http.get(f"{stack.url('audit')}{path}", headers=account.headers)
            assert resp.status_code == 403, (account.profile, resp.text)
            assert resp.headers["content-type"] == PROBLEM

    async def test_staff_have_no_own_history(
        self, stack: Stack, http: httpx.AsyncClient, director: Account
    ):
        resp = await http.get(f"{stack.url('audit')}/me/access-history", headers=director.headers)
        assert resp.status_code == 403

    @pytest.mark.parametrize(
        "params",
        [
            {"cursor": "not-a-cursor"},
            {"cursor": "W10"},
            {"from": "2024-01-02T00:00:00Z", "to": "2024-01-01T00:00:00Z"},
            {"from": "2024-01-01T00:00:00"},
            {"from": "yesterday"},
            {"profile": "astronaut"},
            {"limit": 0},
            {"limit": 100000},
        ],
    )
    async def test_bad_queries_are_422(
        self, stack: Stack, http: httpx.AsyncClient, accessed: FileAccesses, params: dict
    ):
        resp = await http.get(
            f"{stack.url('audit')}/me/access-history",
            params=params,
            headers=accessed.account.headers,
        )
        assert resp.status_code == 422, resp.text
        assert resp.headers["content-type"] == PROBLEM

    async def test_unknown_worker_is_an_empty_history(
        self, stack: Stack, http: httpx.AsyncClient, director: Account
    ):
        resp = await http.get(
            f"{stack.url('audit')}/access-history/w-{uuid.uuid4()}", headers=director.headers
        )
        assert resp.status_code == 200
        assert resp.json()["items"] == []


class TestReports:
    async def test_director_pdf(
        self, stack: Stack, http: httpx.AsyncClient, accessed: FileAccesses, director: Account
    ):
        resp = await http.get(
            f"{stack.url('audit')}/access-history/{accessed.worker_id}/report.pdf",
            headers=director.headers,
        )
        assert resp.status_code == 200, resp.text
        assert resp.headers["content-type"] == "application/pdf"
        assert resp.content.startswith(b"%PDF")

    async def test_authority_pdf_for_the_officer_not_the_director_one(
        self, stack: Stack, http: httpx.AsyncClient, accessed: FileAccesses, officer: Account
    ):
        url = f"{stack.url('audit')}/access-history/{accessed.worker_id}/report.pdf"
        ok = await http.get(url, params={"audience": "authority"}, headers=officer.headers)
        assert ok.status_code == 200 and ok.content.startswith(b"%PDF")
        refused = await http.get(url, headers=officer.headers)
        assert refused.status_code == 403

    async def test_fhir_bundle_validates(
        self, stack: Stack, http: httpx.AsyncClient, accessed: FileAccesses, director: Account
    ):
        resp = await http.get(
            f"{stack.url('audit')}/access-history/{accessed.worker_id}/fhir",
            headers=director.headers,
        )
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("application/fhir+json")
        bundle = Bundle.model_validate(resp.json())
        assert bundle.total == len(accessed.published)
        events = [AuditEvent.model_validate(e.resource.model_dump()) for e in bundle.entry]
        assert {e.id for e in events} == {str(p.event_id) for p in accessed.published}
        assert {e.action for e in events} == {"R", "U"}
        assert all(e.entity[0].what.identifier.value == accessed.worker_id for e in events)


class TestStats:
    async def test_lag_sources_and_last_event(
        self, stack: Stack, http: httpx.AsyncClient, accessed: FileAccesses
    ):
        resp = await http.get(f"{stack.url('audit')}/stats")
        assert resp.status_code == 200
        body = resp.json()
        assert body["broker"] == "reachable"
        assert {p["topic"] for p in body["partitions"]} >= {"access-events", "auth-events"}
        assert all(p["lag"] is not None and p["lag"] >= 0 for p in body["partitions"])
        assert any(s["source"] == "records" and s["events"] > 0 for s in body["sources"])
        assert body["last_event_at"] is not None

    async def test_where_the_projector_is(
        self, stack: Stack, http: httpx.AsyncClient, accessed: FileAccesses
    ):
        """A stopped projector shows: its position and time stop, the unfolded count grows."""
        body = (await http.get(f"{stack.url('audit')}/stats")).json()
        assert 0 < body["projected_position"] <= body["events_stored"]
        assert body["projected_at"] is not None and body["signed_tree_size"] > 0
        assert body["events_not_projected"] == body["events_stored"] - body["projected_position"]
