"""The outbox path: committed rows reach Kafka once each, numbered without gaps."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.ext.asyncio import create_async_engine

from common.db import make_sessionmaker
from common.devstack import Broker, Stack, free_port
from common.events import EventDraft, Resource
from common.migrate import upgrade
from common.outbox import OutboxRelay, record_events
from common.signing import EventSigner, header, verify
from tests.helpers import eventually

pytestmark = pytest.mark.asyncio
TOPIC = "access-events"


class Bench:
    """A private database and broker so faults injected here touch no other test."""

    def __init__(self, stack: Stack, name: str, tmp: Path, poll: float = 0.5) -> None:
        self.stack = stack
        self.name = name
        self.url = stack.postgres.url(name)
        self.broker = Broker(free_port(), tmp / f"{name}-broker.log")
        self.engine = create_async_engine(self.url, pool_size=25, max_overflow=5)
        self.sessionmaker = make_sessionmaker(self.engine)
        self.poll = poll
        self.signer = EventSigner(Ed25519PrivateKey.generate())
        self.relay: OutboxRelay | None = None
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.stack.postgres.psql(f'DROP DATABASE IF EXISTS "{self.name}"')
        self.stack.postgres.psql(f'CREATE DATABASE "{self.name}"')
        # The outbox as the records service's migrations make it.
        await asyncio.to_thread(upgrade, "records", self.url)
        self.broker.start()
        await self.broker.create_topics()
        self.relay = OutboxRelay(
            database_url=self.url,
            bootstrap=self.broker.bootstrap,
            source="records",
            signer=self.signer,
            batch_size=200,
            poll_seconds=self.poll,
            send_timeout=2.0,
            max_backoff=1.0,
        )
        self.task = asyncio.create_task(self.relay.run())

    async def stop(self) -> None:
        assert self.relay and self.task
        await self.relay.stop()
        self.task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await self.task
        self.broker.stop()
        await self.engine.dispose()

    async def write(self, n: int, delay: float = 0.0) -> list[str]:
        """One transaction writing n events, optionally committing late."""
        events = [
            EventDraft(
                source="records",
                action="read",
                actor=None,
                worker_id=str(uuid.uuid4()),
                resource=Resource(type="worker", part="record"),
            )
            for _ in range(n)
        ]
        async with self.sessionmaker() as session:
            await record_events(session, events)
            await asyncio.sleep(delay)
            await session.commit()
        return [str(e.event_id) for e in events]

    async def unpublished(self) -> int:
        conn = await asyncpg.connect(self.url.replace("+asyncpg", ""))
        try:
            return int(
                await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            )
        finally:
            await conn.close()


@pytest.fixture
async def bench(
    stack: Stack, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Bench]:
    poll = getattr(request, "param", 0.5)
    b = Bench(stack, f"outbox_{uuid.uuid4().hex[:8]}", tmp_path, poll=poll)
    await b.start()
    try:
        yield b
    finally:
        await b.stop()


async def consume(bootstrap: str, expected: int, timeout: float = 60) -> list[dict]:
    """Every message of the topic from the beginning until `expected` arrived or timeout."""
    consumer = AIOKafkaConsumer(
        TOPIC,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    out: list[dict] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(out) < expected and loop.time() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for messages in batch.values():
                out.extend(json.loads(m.value) for m in messages)
        # A short grace period catches duplicates that would arrive after the expected count.
        for messages in (await consumer.getmany(timeout_ms=1000)).values():
            out.extend(json.loads(m.value) for m in messages)
    finally:
        await consumer.stop()
    return out


class TestConcurrentSlowCommits:
    async def test_thousand_events_from_twenty_transactions_arrive_once_in_sequence(
        self, bench: Bench
    ):
        rng = random.Random(7)
        delays = [rng.choice([0.0, 0.0, 0.3, 1.5]) for _ in range(20)]
        written = await asyncio.gather(*(bench.write(50, d) for d in delays))
        ids = {i for batch in written for i in batch}
        assert len(ids) == 1000

        received = await consume(bench.broker.bootstrap, 1000)
        got = [m["event_id"] for m in received]
        assert len(got) == len(set(got)) == 1000, "each event exactly once"
        assert set(got) == ids
        seqs = sorted(m["source_seq"] for m in received)
        assert seqs == list(range(1, 1001)), "source_seq contiguous from 1"
        assert {m["source"] for m in received} == {"records"}
        assert await bench.unpublished() == 0


class TestBatchPlans:
    async def test_the_published_mark_is_planned_for_each_batch(self, bench: Bench):
        # A generic plan made while the outbox was small kept a sequential scan with a linear
        # `id = ANY($1)` filter as it grew (197 ms per mark of ~500 rows in the bench).
        for _ in range(8):
            await bench.write(150)
            await eventually(lambda: _none_unpublished(bench), timeout=20)
        await asyncio.sleep(0.5)
        assert bench.relay is not None
        conn = bench.relay._mark_conn
        assert conn is not None
        # The relay is idle (nothing unpublished, its last mark awaited): the connection is free.
        row = await conn.fetchrow(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE statement LIKE 'UPDATE outbox SET published_at%'"
        )
        assert row is not None and row["custom_plans"] >= 8
        assert row["generic_plans"] == 0


async def _none_unpublished(bench: Bench) -> bool:
    return await bench.unpublished() == 0


class TestSignatures:
    async def test_every_envelope_and_heartbeat_is_signed_over_the_bytes_sent(self, bench: Bench):
        ids = await bench.write(20)
        consumer = AIOKafkaConsumer(
            TOPIC, "outbox-heartbeat", bootstrap_servers=bench.broker.bootstrap,
            auto_offset_reset="earliest", enable_auto_commit=False, group_id=None,
        )  # fmt: skip
        await consumer.start()
        seen: dict[str, list] = {TOPIC: [], "outbox-heartbeat": []}
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 30
            while (len(seen[TOPIC]) < 20 or not seen["outbox-heartbeat"]) and (
                loop.time() < deadline
            ):
                for tp, messages in (await consumer.getmany(timeout_ms=500)).items():
                    seen[tp.topic].extend(messages)
        finally:
            await consumer.stop()
        assert {json.loads(m.value)["event_id"] for m in seen[TOPIC]} == set(ids)
        assert seen["outbox-heartbeat"], "a heartbeat was published"
        for m in seen[TOPIC] + seen["outbox-heartbeat"]:
            assert header(m.headers, "kid") == bench.signer.kid.encode()
            sig = header(m.headers, "sig")
            assert sig is not None and verify(bench.signer.public, m.value, sig)
            assert not verify(bench.signer.public, m.value + b" ", sig)


class TestWakeUp:
    @pytest.mark.parametrize("bench", [60.0], indirect=True)
    async def test_an_idle_relay_is_woken_by_notify_not_by_polling(self, bench: Bench):
        await asyncio.sleep(1)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        ids = await bench.write(1)
        received = await consume(bench.broker.bootstrap, 1, timeout=20)
        assert [m["event_id"] for m in received] == ids
        assert loop.time() - t0 < 10, "published long before the 60 s poll"


class TestBrokerOutage:
    async def test_writes_during_a_broker_outage_are_delivered_after_it(self, bench: Bench):
        before = await bench.write(50)
        first = await consume(bench.broker.bootstrap, 50)
        assert {m["event_id"] for m in first} == set(before)

        bench.broker.kill()
        during: list[str] = []
        for _ in range(10):
            during += await bench.write(10)
            await asyncio.sleep(2)
        assert await bench.unpublished() == 100, "held in the outbox while the broker is down"

        bench.broker.start()
        await bench.broker.create_topics()
        after = await consume(bench.broker.bootstrap, 100, timeout=60)
        ids = [m["event_id"] for m in after]
        assert set(ids) == set(during), "nothing lost, delivery resumed without a restart"
        assert len(ids) == len(set(ids))
        assert sorted(m["source_seq"] for m in after) == list(range(51, 151))
        assert await bench.unpublished() == 0


class TestGapRepair:
    async def test_heartbeat_reports_how_far_the_source_published(self, bench: Bench):
        await bench.write(30)
        await consume(bench.broker.bootstrap, 30)

        async def last_beat() -> int | None:
            consumer = AIOKafkaConsumer(
                "outbox-heartbeat", bootstrap_servers=bench.broker.bootstrap,
                auto_offset_reset="earliest", group_id=None,
            )  # fmt: skip
            await consumer.start()
            try:
                batch = await consumer.getmany(timeout_ms=1500)
            finally:
                await consumer.stop()
            beats = [json.loads(m.value) for ms in batch.values() for m in ms]
            seqs = [b["last_seq"] for b in beats if b["source"] == "records"]
            return max(seqs) if seqs and max(seqs) == 30 else None

        assert await eventually(last_beat, timeout=20) == 30

    async def test_resend_request_republishes_the_range(self, bench: Bench):
        ids = await bench.write(40)
        await consume(bench.broker.bootstrap, 40)
        # The relay's listener starts at the end of the topic: give it a moment to subscribe.
        await asyncio.sleep(2)
        producer = AIOKafkaProducer(bootstrap_servers=bench.broker.bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(
                "outbox-resend",
                json.dumps({"source": "records", "from_seq": 11, "to_seq": 20}).encode(),
            )
            await producer.send_and_wait("outbox-resend", b"not json")
            await producer.send_and_wait(
                "outbox-resend",
                json.dumps({"source": "identity", "from_seq": 1, "to_seq": 40}).encode(),
            )
        finally:
            await producer.stop()
        received = await consume(bench.broker.bootstrap, 50)
        seqs = sorted(m["source_seq"] for m in received)
        assert seqs == sorted(list(range(1, 41)) + list(range(11, 21)))
        assert {m["event_id"] for m in received} == set(ids)
