"""The consumer: exactly-once appends, quarantine of poison, positions, sequence gaps."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer

from audit.projector import Wakeup
from common.devstack import REPO, Stack
from common.events import AccessEvent
from tests.audit.support import Events, SignedProducer, care, dsn, publish, staff, stored
from tests.helpers import eventually

pytestmark = pytest.mark.asyncio


class TestDeduplication:
    async def test_same_event_three_times_is_stored_once(
        self, db: asyncpg.Connection, producer: SignedProducer, events: Events
    ):
        worker = str(uuid.uuid4())
        event = await events.make(worker_id=worker, actor=staff(), details=care())
        # The third copy goes to another partition (no key): dedup must not rely on keys.
        await publish(producer, event, event)
        await producer.send_and_wait("access-events", event.to_json())
        after = await events.make(worker_id=worker, actor=staff(), details=care())
        await publish(producer, after)
        await eventually(lambda: stored(db, event, after))
        count = await db.fetchval("SELECT count(*) FROM event WHERE event_id = $1", event.event_id)
        assert count == 1
        history = await db.fetchval(
            "SELECT count(*) FROM access_entry WHERE event_id = $1", event.event_id
        )
        assert history == 1


class TestPoison:
    @pytest.mark.parametrize(
        ("value", "reason"),
        [
            (b"{not json", "invalid JSON"),
            (b"\xff\xfe\x00", "invalid JSON"),
            (b"[1, 2]", "not a JSON object"),
            (json.dumps({"schema": "access-event/1", "hello": 1}).encode(), "access-event/1"),
        ],
    )
    async def test_poison_is_quarantined_and_next_message_processed(
        self,
        db: asyncpg.Connection,
        producer: SignedProducer,
        events: Events,
        value: bytes,
        reason: str,
    ):
        worker = str(uuid.uuid4())
        meta = await producer.send_and_wait("access-events", value, key=worker.encode())
        good = await events.make(worker_id=worker, actor=staff(), details=care())
        await publish(producer, good)
        await eventually(lambda: stored(db, good))
        row = await db.fetchrow(
            "SELECT reason, value FROM quarantine WHERE topic = $1 AND partition = $2 "
            'AND "offset" = $3',
            meta.topic,
            meta.partition,
            meta.offset,
        )
        assert row is not None and reason in row["reason"]
        assert row["value"] == value

    async def test_wrong_source_for_topic_is_quarantined(
        self, db: asyncpg.Connection, producer: SignedProducer, events: Events
    ):
        # An "audit" event arriving from the broker would be a forgery of the trail's own.
        forged = await events.make(source="audit", seq=10_000_000, actor=staff())
        meta = await producer.send_and_wait("access-events", forged.to_json())
        row = await eventually(
            lambda: db.fetchrow(
                'SELECT reason FROM quarantine WHERE topic = $1 AND "offset" = $2 '
                "AND partition = $3",
                meta.topic,
                meta.offset,
                meta.partition,
            )
        )
        assert "does not publish" in row["reason"]
        assert not await stored(db, forged)


class TestPositions:
    async def test_position_moves_with_the_batch(
        self, db: asyncpg.Connection, producer: SignedProducer, events: Events
    ):
        worker = str(uuid.uuid4())
        event = await events.make(worker_id=worker, actor=staff(), details=care())
        meta = await producer.send_and_wait("access-events", event.to_json(), key=worker.encode())
        await eventually(lambda: stored(db, event))
        position = await db.fetchval(
            "SELECT next_offset FROM consumer_position WHERE topic = $1 AND partition = $2",
            meta.topic,
            meta.partition,
        )
        assert position is not None and position > meta.offset
        origin = await db.fetchrow(
            "SELECT origin_topic, origin_partition, origin_offset FROM event WHERE event_id = $1",
            event.event_id,
        )
        assert tuple(origin) == (meta.topic, meta.partition, meta.offset)

    async def test_restart_resumes_from_database_without_duplicates(
        self, stack: Stack, db: asyncpg.Connection, producer: SignedProducer, events: Events
    ):
        before = await db.fetchval("SELECT count(*) FROM event")
        stack.kill_child("audit-consumer")
        worker = str(uuid.uuid4())
        batch = [
            await events.make(worker_id=worker, actor=staff(), details=care()) for _ in range(5)
        ]
        await publish(producer, *batch)
        stack.start_children(["audit-consumer"])
        await eventually(lambda: stored(db, *batch), timeout=40)
        after = await db.fetchval("SELECT count(*) FROM event")
        duplicates = await db.fetchval(
            "SELECT count(*) FROM (SELECT event_id FROM event GROUP BY event_id "
            "HAVING count(*) > 1) d"
        )
        assert duplicates == 0
        assert after >= before + 5


class TestGaps:
    async def test_gap_alerts_asks_for_resend_and_resolves(
        self, stack: Stack, db: asyncpg.Connection, producer: SignedProducer, events: Events
    ):
        first = await events.next_seq("register")
        missing = first + 1
        late = await events.make(source="register", action="create", seq=missing + 1)
        early = await events.make(source="register", action="create", seq=first)
        # Unkeyed events land on any partition: the early one must be in before the late one.
        await publish(producer, early)
        await eventually(lambda: stored(db, early))
        await publish(producer, late)
        gap = await eventually(
            lambda: db.fetchrow(
                "SELECT id, resolved_at FROM gap WHERE source = 'register' AND from_seq = $1 "
                "AND to_seq = $1",
                missing,
            )
        )
        assert gap["resolved_at"] is None
        alert = await eventually(
            lambda: db.fetchrow(
                "SELECT id, resolved_at FROM alert WHERE gap_id = $1 AND kind = 'gap'", gap["id"]
            ),
            timeout=30,
        )
        assert alert["resolved_at"] is None
        request = await _resend_request(stack, str(gap["id"]))
        assert (request["source"], request["from_seq"], request["to_seq"]) == (
            "register",
            missing,
            missing,
        )
        filler = await events.make(source="register", action="create", seq=missing)
        await publish(producer, filler)
        await eventually(
            lambda: db.fetchval("SELECT resolved_at IS NOT NULL FROM gap WHERE id = $1", gap["id"])
        )
        assert await db.fetchval(
            "SELECT resolved_at IS NOT NULL FROM alert WHERE id = $1", alert["id"]
        )


async def _resend_request(stack: Stack, gap_id: str) -> dict:
    consumer = AIOKafkaConsumer(
        "outbox-resend", bootstrap_servers=stack.broker.bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:

        async def probe():
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for record in records:
                    body = json.loads(record.value)
                    if body.get("gap_id") == gap_id:
                        return body
            return None

        return await eventually(probe, timeout=30)
    finally:
        await consumer.stop()


class TestTailGaps:
    async def test_heartbeat_ahead_of_the_store_opens_a_gap_until_the_events_come(
        self, db: asyncpg.Connection, producer: SignedProducer, events: Events
    ):
        first = await events.next_seq("register")
        anchor = await events.make(source="register", action="create", seq=first)
        await publish(producer, anchor)
        await eventually(lambda: stored(db, anchor))
        # The relay says it published two more; the broker lost them.
        beat = {"source": "register", "last_seq": first + 2, "at": "2026-01-01T00:00:00Z"}
        await producer.send_and_wait("outbox-heartbeat", json.dumps(beat).encode(), key=b"register")
        await producer.send_and_wait("outbox-heartbeat", b"not a heartbeat", key=b"register")
        gap = await eventually(
            lambda: db.fetchrow(
                "SELECT g.id, g.resolved_at, a.kind FROM gap g JOIN alert a ON a.gap_id = g.id "
                "WHERE g.source = 'register' AND g.from_seq = $1 AND g.to_seq = $2",
                first + 1,
                first + 2,
            ),
            timeout=30,
        )
        assert gap["resolved_at"] is None and gap["kind"] == "gap"
        events.last["register"] = first + 2
        resent = [
            await events.make(source="register", action="create", seq=s)
            for s in (first + 1, first + 2)
        ]
        await publish(producer, *resent)
        await eventually(
            lambda: db.fetchval("SELECT resolved_at IS NOT NULL FROM gap WHERE id = $1", gap["id"])
        )


def assignment(path: Path) -> set[int] | None:
    """The access-events partitions of a consumer's last assignment in its log, if any."""
    if not path.exists():
        return None
    lines = [line for line in path.read_text().splitlines() if " assigned " in line]
    if not lines:
        return None
    names = lines[-1].split(" assigned ", 1)[1].split()
    return {int(n.split("/")[1]) for n in names if n.startswith("access-events/")}


def another_consumer(stack: Stack, log: Path, **extra: str) -> subprocess.Popen[bytes]:
    """A second `python -m audit.consumer` in the stack's group, logging to its own file."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "audit.consumer"],
            env={**stack.child_env("audit-consumer", stack.env()), **extra},
            cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


class TestTwoConsumers:
    async def test_both_consumers_of_the_group_store_events(
        self, stack: Stack, db: asyncpg.Connection, producer: SignedProducer, events: Events
    ):
        first_log = stack.logs / "audit-consumer.log"
        second_log = stack.logs / f"audit-consumer-{uuid.uuid4().hex[:8]}.log"
        second = another_consumer(stack, second_log)
        try:

            async def split() -> tuple[set[int], set[int]] | None:
                a, b = assignment(first_log), assignment(second_log)
                if a and b and not a & b and a | b == {0, 1, 2}:
                    return a, b
                return None

            mine, theirs = await eventually(split, timeout=40)
            batch = [
                await events.make(worker_id=str(uuid.uuid4()), actor=staff(), details=care())
                for _ in range(60)
            ]
            await publish(producer, *batch)
            await eventually(lambda: stored(db, *batch), timeout=40)
            rows = await db.fetch(
                "SELECT DISTINCT origin_partition FROM event WHERE event_id = ANY($1::uuid[])",
                [e.event_id for e in batch],
            )
            partitions = {r["origin_partition"] for r in rows}
            assert partitions & mine and partitions & theirs
        finally:
            second.send_signal(signal.SIGTERM)
            await asyncio.to_thread(second.wait, 30)
        final = second_log.read_text().splitlines()[-1]
        assert "audit consumer stopped" in final
        assert int(final.split("stopped: ")[1].split()[0]) > 0
        # The stack's consumer reads every partition again before the next test.
        await eventually(lambda: asyncio.sleep(0, assignment(first_log) == {0, 1, 2}), timeout=40)


async def in_store(db: asyncpg.Connection, envelopes: list[AccessEvent]) -> bool:
    """Whether every envelope is in the store (folded or not)."""
    ids = [e.event_id for e in envelopes]
    n = await db.fetchval("SELECT count(*) FROM event WHERE event_id = ANY($1::uuid[])", ids)
    return bool(n == len(ids))


async def entries(db: asyncpg.Connection, envelopes: list[AccessEvent]) -> int:
    """History entries of the envelopes (each is folded into one)."""
    ids = [e.event_id for e in envelopes]
    return int(
        await db.fetchval("SELECT count(*) FROM access_entry WHERE event_id = ANY($1::uuid[])", ids)
    )


class TestProjectorProcess:
    async def test_the_projector_process_folds_what_the_consumer_stored(
        self, stack: Stack, db: asyncpg.Connection, producer: SignedProducer, events: Events
    ):
        stack.kill_child("audit-projector")
        try:
            batch = [
                await events.make(worker_id=str(uuid.uuid4()), actor=staff(), details=care())
                for _ in range(5)
            ]
            await publish(producer, *batch)
            await eventually(lambda: in_store(db, batch), timeout=40)
            # The stack's consumer does not fold (AUDIT_PROJECTOR_PROCESS=true): nobody has.
            assert await entries(db, batch) == 0
        finally:
            stack.start_children(["audit-projector"])
        await eventually(lambda: stored(db, *batch), timeout=40)
        assert await entries(db, batch) == 5

    async def test_a_consumer_that_projects_needs_no_projector_process(
        self, stack: Stack, db: asyncpg.Connection, producer: SignedProducer, events: Events
    ):
        stack.kill_child("audit-projector")
        log = stack.logs / f"audit-consumer-projects-{uuid.uuid4().hex[:8]}.log"
        folding = another_consumer(
            stack,
            log,
            AUDIT_PROJECTOR_PROCESS="false",
            AUDIT_CHECKPOINT_KEY_FILE=str(stack.checkpoint_key_path),
        )
        try:
            batch = [
                await events.make(worker_id=str(uuid.uuid4()), actor=staff(), details=care())
                for _ in range(5)
            ]
            await publish(producer, *batch)
            await eventually(lambda: stored(db, *batch), timeout=60)
            assert await entries(db, batch) == 5
        finally:
            folding.send_signal(signal.SIGTERM)
            await asyncio.to_thread(folding.wait, 30)
            stack.start_children(["audit-projector"])
        assert "python -m audit.projector" not in log.read_text()
        first_log = stack.logs / "audit-consumer.log"
        await eventually(lambda: asyncio.sleep(0, assignment(first_log) == {0, 1, 2}), timeout=40)

    async def test_an_append_wakes_a_listening_projector(
        self, stack: Stack, producer: SignedProducer, events: Events
    ):
        """The consumer's appending transaction notifies at its commit (not the 1 s poll)."""
        appended = asyncio.Event()
        wakeup = Wakeup(dsn(stack), appended)
        await wakeup.ensure()
        try:
            assert wakeup.connection is not None, "listening"
            appended.clear()
            await publish(
                producer,
                await events.make(worker_id=str(uuid.uuid4()), actor=staff(), details=care()),
            )
            # Only write() notifies this channel, and this listener polls nothing itself.
            await asyncio.wait_for(appended.wait(), 30)
        finally:
            await wakeup.close()
