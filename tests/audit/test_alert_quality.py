"""Alerts worth reading: rules count what they claim, usual false positives raise nothing,
alerts aggregate per (rule, actor, worker or window), and seeded data raises none."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest

from common.devstack import Stack
from tests.audit.support import Events, SignedProducer, care, publish, staff, stored
from tests.audit.test_alerts import alerts_of
from tests.helpers import Account, eventually, make_user

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
async def director(stack: Stack, http: httpx.AsyncClient) -> Account:
    """A medical director."""
    return await make_user(http, stack, "medical_director")


async def send_all(db: asyncpg.Connection, producer: SignedProducer, envelopes: list) -> None:
    """Publish in chunks and wait until every envelope is stored (and folded)."""
    for start in range(0, len(envelopes), 250):
        await publish(producer, *envelopes[start : start + 250])
    await eventually(lambda: stored(db, *envelopes[-20:]), timeout=90)
    await eventually(lambda: stored(db, *envelopes), timeout=30)


class TestUsualFalsePositives:
    async def test_a_thousand_reads_of_the_care_team_raise_none(
        self, stack, http, db, producer, events: Events, director: Account
    ):
        """A physician reading their own care team's files all morning is their job."""
        actor = staff("physician")
        team = [f"w-{uuid.uuid4()}" for _ in range(100)]
        start = datetime.now(UTC) - timedelta(minutes=5)
        batch = [
            await events.make(
                worker_id=team[n % len(team)], actor=actor, details=care(True),
                part=("exam", "record", "notes")[n % 3],
                occurred_at=start + timedelta(milliseconds=250 * n),
            )
            for n in range(1000)
        ]  # fmt: skip
        await send_all(db, producer, batch)
        assert await alerts_of(stack, http, director, actor_user_id=actor["user_id"]) == []

    async def test_a_search_listing_200_workers_raises_no_mass_access(
        self, stack, http, db, producer, events: Events, director: Account
    ):
        """One event per worker found, none outside the care team: a list is not an opening."""
        actor = staff("physician")
        hits = [
            await events.make(
                action="search", worker_id=f"w-{uuid.uuid4()}", actor=actor, part="search",
                details=care(False),
            )
            for _ in range(200)
        ]  # fmt: skip
        await send_all(db, producer, hits)
        assert await alerts_of(stack, http, director, actor_user_id=actor["user_id"]) == []

    async def test_the_front_desk_searching_raises_no_high_alert(
        self, stack, http, db, producer, events: Events, director: Account
    ):
        """Administrative staff find a worker to schedule an exam (a colleague too)."""
        actor = staff("admin_staff")
        hits = [
            await events.make(
                action="search", worker_id=f"w-{uuid.uuid4()}", actor=actor, part="search",
                details=care(False, "Occupational Health Service" if n == 0 else "Acme"),
            )
            for n in range(40)
        ]  # fmt: skip
        await send_all(db, producer, hits)
        found = await alerts_of(stack, http, director, actor_user_id=actor["user_id"])
        assert [a for a in found if a["severity"] == "high"] == []

    async def test_seeded_data_raises_nothing(
        self, stack, http, db, producer, events: Events, director: Account
    ):
        """Demo data written by a seeding run: flagged, and every rule skips it."""
        actor = staff("assistant")
        seeded = [
            await events.make(
                worker_id=f"w-{uuid.uuid4()}", actor=actor,
                details={**care(False, "Occupational Health Service"), "seeding": True},
            )
            for _ in range(30)
        ]  # fmt: skip
        await send_all(db, producer, seeded)
        assert await alerts_of(stack, http, director, actor_user_id=actor["user_id"]) == []


class TestRulesFire:
    async def test_mass_access_of_the_care_team_past_its_threshold(
        self, stack, http, db, producer, events: Events, director: Account
    ):
        actor = staff("physician")
        batch = [
            await events.make(worker_id=f"w-{uuid.uuid4()}", actor=actor, details=care(True))
            for _ in range(202)
        ]
        await send_all(db, producer, batch)
        found = await alerts_of(stack, http, director, actor_user_id=actor["user_id"])
        assert [a["kind"] for a in found] == ["mass_access"]
        assert "201 files in 10 minutes" in found[0]["summary"]

    async def test_prints_and_exports_are_openings(
        self, stack, http, db, producer, events: Events, director: Account
    ):
        actor = staff("assistant")
        batch = [
            await events.make(
                action=("print", "export")[n % 2], worker_id=f"w-{uuid.uuid4()}", actor=actor,
                part="administrative", details=care(False),
            )
            for n in range(22)
        ]  # fmt: skip
        await send_all(db, producer, batch)
        found = await alerts_of(stack, http, director, actor_user_id=actor["user_id"])
        assert [a["kind"] for a in found] == ["mass_access"]


class TestAggregation:
    async def test_one_open_alert_per_rule_actor_and_worker(
        self, stack, http, db, producer, events: Events, director: Account
    ):
        actor = staff("assistant")
        worker, other = f"w-{uuid.uuid4()}", f"w-{uuid.uuid4()}"
        batch = [
            await events.make(worker_id=w, actor=actor, part="exam", details=care(False))
            for w in (worker, worker, worker, other)
        ]
        await send_all(db, producer, batch)
        found = await alerts_of(stack, http, director, actor_user_id=actor["user_id"])
        by_worker = {a["worker_id"]: a for a in found}
        assert sorted(by_worker) == sorted([worker, other]) and len(found) == 2
        three = by_worker[worker]
        assert three["count"] == 3
        assert three["event_id"] == str(batch[0].event_id)
        assert three["last_event_id"] == str(batch[2].event_id)
        linked = await http.get(
            f"{stack.url('audit')}/alerts/{three['id']}/events", headers=director.headers
        )
        assert linked.status_code == 200, linked.text
        assert [e["event_id"] for e in linked.json()["events"]] == [
            str(e.event_id) for e in batch[:3]
        ]

    async def test_a_resolved_alert_is_not_reopened(
        self, stack, http, db, producer, events: Events, director: Account
    ):
        actor = staff("assistant")
        worker = f"w-{uuid.uuid4()}"
        first = await events.make(worker_id=worker, actor=actor, details=care(False))
        await send_all(db, producer, [first])
        (alert,) = await alerts_of(stack, http, director, actor_user_id=actor["user_id"])
        resp = await http.post(
            f"{stack.url('audit')}/alerts/{alert['id']}/resolve",
            json={"resolution": "justified", "comment": "Covering for dr. X"},
            headers=director.headers,
        )
        assert resp.status_code == 200, resp.text
        again = await events.make(worker_id=worker, actor=actor, details=care(False))
        await send_all(db, producer, [again])
        found = await alerts_of(stack, http, director, actor_user_id=actor["user_id"])
        assert sorted(a["status"] for a in found) == ["open", "resolved"]
