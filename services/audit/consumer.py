"""The audit consumer: `python -m audit.consumer` reads every event topic into the store.

Each batch is appended, folded and quarantined in one transaction together with the
partition positions it moves to; Kafka's committed offsets are only a hint.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audit.core.models import derived_id
from audit.ingest.models import ConsumerPosition
from audit.ingest.service import (
    Incoming,
    Message,
    Poison,
    append_audit,
    drain_pending,
    ingest,
    parse,
    quarantine,
    save_positions,
)
from audit.ingest.signatures import SourceKeys, raise_forged_alerts, taken
from audit.projections.models import Gap, SourceStat
from audit.settings import Settings
from audit.store.service import Signer, checkpoint, checkpoint_private_key
from common.db import make_engine, make_sessionmaker, utcnow
from common.events import ALL_TOPICS, HEARTBEAT_TOPIC, TOPIC_BY_SOURCE, format_time
from common.signing import SigningKeyError

log = logging.getLogger("ohs.audit.consumer")


async def db_positions(maker: async_sessionmaker[AsyncSession]) -> dict[tuple[str, int], int]:
    """The next offset per partition, as last written with a batch."""
    async with maker() as session:
        rows = await session.execute(select(ConsumerPosition))
        return {(r.topic, r.partition): r.next_offset for r in rows.scalars()}


class _SeekToDatabase(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, owner: AuditConsumer) -> None:
        self.owner = owner

    async def on_partitions_revoked(self, revoked: Any) -> None:
        """Nothing to flush: every batch is committed to the database before the next poll."""

    async def on_partitions_assigned(self, assigned: Any) -> None:
        """Start where the database says, not where Kafka's committed offsets say."""
        await self.owner.seek_to_database(list(assigned))


class AuditConsumer:
    """Consumes the event topics into the store; raises gap alerts; signs checkpoints."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.rules = settings.rules()
        self.engine = make_engine(settings.database_url, pool_size=2)
        self.maker = make_sessionmaker(self.engine)
        self.consumer: AIOKafkaConsumer | None = None
        self.producer: AIOKafkaProducer | None = None
        self.signer: Signer | None = None
        self.source_keys = SourceKeys.from_settings(settings)
        self.checkpoint_key = checkpoint_private_key(settings)
        self.last_checkpoint = 0.0
        self.last_housekeeping = 0.0
        self.resent: dict[str, float] = {}
        self.tails: dict[str, tuple[int, float]] = {}
        self.stored = 0
        self.quarantined = 0

    async def seek_to_database(self, partitions: list[TopicPartition]) -> None:
        """Seek each partition to its database position (or the beginning)."""
        assert self.consumer is not None
        positions = await db_positions(self.maker)
        for tp in partitions:
            offset = positions.get((tp.topic, tp.partition))
            if offset is None:
                await self.consumer.seek_to_beginning(tp)
            else:
                self.consumer.seek(tp, offset)

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until stop is set; reconnect with backoff on broker or database trouble."""
        backoff = 0.5
        while not stop.is_set():
            try:
                await self._run(stop)
                backoff = 0.5
            except (KafkaError, OSError, TimeoutError) as exc:
                log.warning("consumer: %s; retrying in %.1fs", exc, backoff)
            except Exception:
                log.exception("consumer failed; retrying in %.1fs", backoff)
            finally:
                await self._close_kafka()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), backoff)
            backoff = min(backoff * 2, 10)
        await self.engine.dispose()

    async def _run(self, stop: asyncio.Event) -> None:
        s = self.settings
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=s.kafka_bootstrap,
            group_id=s.consumer_group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=s.consumer_batch_size,
        )
        topics = [*ALL_TOPICS, HEARTBEAT_TOPIC]
        self.consumer.subscribe(topics, listener=_SeekToDatabase(self))
        await self.consumer.start()
        log.info("audit consumer reading %s from %s", ", ".join(ALL_TOPICS), s.kafka_bootstrap)
        while not stop.is_set():
            batch = await self.fetch()
            if batch:
                try:
                    await self.handle(batch)
                except Exception:
                    # Nothing of the batch was stored: read it again from the stored positions.
                    await self.seek_to_database(list(self.consumer.assignment()))
                    raise
                with contextlib.suppress(KafkaError):
                    await self.consumer.commit()
            await self.drain_pending()
            await self.housekeeping()

    async def fetch(self) -> dict[TopicPartition, list[Any]]:
        """A batch taken evenly from the partitions of each topic, or waited for.

        One source's numbers are spread over its topic's partitions; a batch drawn from one
        partition only would leave a hole at nearly every event, each opened as a gap and
        closed again when the other partitions are read."""
        assert self.consumer is not None
        size = self.settings.consumer_batch_size
        parts = self.consumer.assignment()
        per_topic: dict[str, int] = {}
        for tp in parts:
            per_topic[tp.topic] = per_topic.get(tp.topic, 0) + 1
        batch: dict[TopicPartition, list[Any]] = {}
        for attempt in range(2):
            for tp in sorted(parts):
                share = max(1, size // per_topic[tp.topic]) - len(batch.get(tp, []))
                if share > 0:
                    got = await self.consumer.getmany(tp, timeout_ms=0, max_records=share)
                    for part, records in got.items():
                        batch.setdefault(part, []).extend(records)
            # A trickle would cost a transaction per few events: let it gather for a moment.
            if attempt == 0 and 0 < sum(map(len, batch.values())) < size // 4:
                await asyncio.sleep(self.settings.consumer_linger_seconds)
            else:
                break
        if batch:
            return batch
        return await self.consumer.getmany(timeout_ms=500, max_records=size)

    async def handle(self, batch: dict[TopicPartition, list[Any]]) -> None:
        """One transaction: append the good, quarantine the poison, move the positions."""
        good: list[Incoming] = []
        poison: list[Poison] = []
        positions: dict[tuple[str, int], int] = {}
        for tp, records in batch.items():
            if tp.topic == HEARTBEAT_TOPIC:
                for record in records:
                    if self.source_keys.heartbeat_ok(record.value, record.headers):
                        self.note_heartbeat(record.value)
                positions[(tp.topic, tp.partition)] = records[-1].offset + 1
                continue
            for record in records:
                message = Message(
                    tp.topic, tp.partition, record.offset, record.key, record.value,
                    tuple(record.headers or ()),
                )  # fmt: skip
                parsed = parse(message, self.source_keys)
                (good if isinstance(parsed, Incoming) else poison).append(parsed)  # type: ignore[arg-type]
            if records:
                positions[(tp.topic, tp.partition)] = records[-1].offset + 1
        async with self.maker() as session, session.begin():
            refused: list[tuple[Incoming, str]] = []
            stored = await ingest(session, good, self.rules, refused)
            poison += taken(refused)
            await quarantine(session, poison)
            stored += await raise_forged_alerts(session, poison, self.rules)
            await save_positions(session, positions)
        self.stored += len(stored)
        self.quarantined += len(poison)
        for p in poison:
            log.warning(
                "quarantined %s/%s@%s: %s",
                p.message.topic,
                p.message.partition,
                p.message.offset,
                p.reason,
            )

    async def drain_pending(self) -> None:
        """Chain the events the audit app wrote (history reads, acknowledgements)."""
        while True:
            async with self.maker() as session, session.begin():
                moved = await drain_pending(session, self.rules, self.settings.consumer_batch_size)
            self.stored += moved
            if moved < self.settings.consumer_batch_size:
                return

    def note_heartbeat(self, raw: bytes | None) -> None:
        """Remember how far a source says it published (a malformed beat is ignored)."""
        try:
            beat = json.loads(raw or b"")
            source, last_seq = str(beat["source"]), int(beat["last_seq"])
        except (ValueError, KeyError, TypeError):
            return
        if source not in TOPIC_BY_SOURCE or last_seq < 1:
            return
        known = self.tails.get(source)
        if known is None or last_seq > known[0]:
            self.tails[source] = (last_seq, known[1] if known else time.monotonic())

    async def _alert_tail_gaps(self, lagging: set[str]) -> None:
        """A heartbeat ahead of the store for longer than the grace: events were lost."""
        if not self.tails:
            return
        async with self.maker() as session, session.begin():
            stats = {
                s.source: s.max_seq for s in (await session.execute(select(SourceStat))).scalars()
            }
            open_ranges = {
                (g.source, g.to_seq)
                for g in await session.execute(
                    select(Gap.source, Gap.to_seq).where(
                        Gap.resolved_at.is_(None),  # type: ignore[union-attr]
                        Gap.source.in_(list(self.tails)),  # type: ignore[attr-defined]
                        Gap.to_seq.in_([t[0] for t in self.tails.values()]),  # type: ignore[attr-defined]
                    )
                )
            }
            drafts = []
            for source, (last_seq, seen) in list(self.tails.items()):
                have = stats.get(source, 0)
                if have >= last_seq or (source, last_seq) in open_ranges:
                    del self.tails[source]
                    continue
                if source in lagging or time.monotonic() - seen < self.settings.gap_grace_seconds:
                    continue
                del self.tails[source]
                gap_id = derived_id("gap", source, have + 1, last_seq)
                drafts.append(
                    {
                        "event_id": derived_id("gap-detected", gap_id),
                        "action": "gap_detected",
                        "actor": None,
                        "worker_id": None,
                        "resource": {"type": "source", "id": source, "part": None},
                        "details": {
                            "gap_id": str(gap_id),
                            "source": source,
                            "from_seq": have + 1,
                            "to_seq": last_seq,
                            "tail": True,
                        },
                    }
                )
            if drafts:
                await append_audit(session, drafts, self.rules)
                log.warning("%d source(s) published past what arrived", len(drafts))

    async def lagging_sources(self) -> set[str]:
        """Sources with events still unread in this consumer's partitions of their topic.

        A hole in such a source's numbers is most likely backlog on a slower partition, not a
        loss: gap alerts and resend requests wait until the topic is read to its end."""
        consumer = self.consumer
        if consumer is None:
            return set(TOPIC_BY_SOURCE)
        behind: set[str] = set()
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            if high is None or await consumer.position(tp) < high:
                behind.update(s for s, topic in TOPIC_BY_SOURCE.items() if topic == tp.topic)
        return behind

    async def housekeeping(self) -> None:
        """About once a second: alert on gaps past their grace, ask for resends, checkpoint."""
        now = time.monotonic()
        if now - self.last_housekeeping < 1.0:
            return
        self.last_housekeeping = now
        lagging = await self.lagging_sources()
        await self._alert_gaps(lagging)
        await self._alert_tail_gaps(lagging)
        await self._request_resends(lagging)
        if now - self.last_checkpoint >= self.settings.checkpoint_seconds:
            await self.sign_checkpoint()
            self.last_checkpoint = now

    async def sign_checkpoint(self) -> None:
        """Sign the chain head when it moved."""
        async with self.maker() as session, session.begin():
            if self.signer is None:
                self.signer = await Signer.load(session, self.checkpoint_key)
            await checkpoint(session, self.signer)

    async def _alert_gaps(self, lagging: set[str]) -> None:
        cutoff = utcnow().timestamp() - self.settings.gap_grace_seconds
        sources = set(TOPIC_BY_SOURCE) - lagging
        if not sources:
            return
        async with self.maker() as session, session.begin():
            gaps = (
                await session.execute(
                    select(Gap).where(
                        Gap.source.in_(sources),  # type: ignore[attr-defined]
                        Gap.resolved_at.is_(None),  # type: ignore[union-attr]
                        Gap.alert_id.is_(None),  # type: ignore[union-attr]
                    )
                )
            ).scalars()
            drafts = [
                {
                    "event_id": derived_id("gap-detected", gap.id),
                    "action": "gap_detected",
                    "actor": None,
                    "worker_id": None,
                    "resource": {"type": "source", "id": gap.source, "part": None},
                    "details": {
                        "gap_id": str(gap.id),
                        "source": gap.source,
                        "from_seq": gap.from_seq,
                        "to_seq": gap.to_seq,
                        "opened_at": format_time(gap.opened_at),
                    },
                }
                for gap in gaps
                if gap.opened_at.timestamp() <= cutoff
            ]
            if drafts:
                await append_audit(session, drafts, self.rules)
                log.warning("%d sequence gap(s) still open after the grace period", len(drafts))

    async def _request_resends(self, lagging: set[str]) -> None:
        sources = set(TOPIC_BY_SOURCE) - lagging
        if not sources:
            return
        async with self.maker() as session:
            gaps = (
                await session.execute(
                    select(Gap).where(
                        Gap.source.in_(sources),  # type: ignore[attr-defined]
                        Gap.resolved_at.is_(None),  # type: ignore[union-attr]
                        Gap.alert_id.is_not(None),  # type: ignore[union-attr]
                    )
                )
            ).scalars()
            due = [
                g
                for g in gaps
                if time.monotonic() - self.resent.get(str(g.id), -1e9)
                >= self.settings.resend_interval_seconds
            ]
        if not due:
            return
        try:
            if self.producer is None:
                self.producer = AIOKafkaProducer(
                    bootstrap_servers=self.settings.kafka_bootstrap, enable_idempotence=False
                )
                await self.producer.start()
            for gap in due:
                request = {
                    "source": gap.source,
                    "from_seq": gap.from_seq,
                    "to_seq": gap.to_seq,
                    "gap_id": str(gap.id),
                    "requested_at": format_time(utcnow()),
                }
                await self.producer.send_and_wait(
                    self.settings.resend_topic,
                    json.dumps(request).encode(),
                    key=gap.source.encode(),
                )
                self.resent[str(gap.id)] = time.monotonic()
                log.info("asked %s to resend %d..%d", gap.source, gap.from_seq, gap.to_seq)
        except (KafkaError, OSError, TimeoutError) as exc:
            log.warning("resend request not sent: %s", exc)
            await self._close_producer()

    async def _close_producer(self) -> None:
        producer, self.producer = self.producer, None
        if producer is not None:
            with contextlib.suppress(Exception):
                await producer.stop()

    async def _close_kafka(self) -> None:
        consumer, self.consumer = self.consumer, None
        if consumer is not None:
            with contextlib.suppress(Exception):
                await consumer.stop()
        await self._close_producer()


async def _main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        consumer = AuditConsumer(Settings())
    except SigningKeyError as exc:
        raise SystemExit(f"audit consumer: {exc}") from None
    await consumer.run(stop)
    log.info(
        "audit consumer stopped: %d stored, %d quarantined", consumer.stored, consumer.quarantined
    )


def main() -> None:
    """Run the audit consumer until SIGTERM."""
    asyncio.run(_main())


if __name__ == "__main__":
    main()
