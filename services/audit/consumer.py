"""The audit consumer: `python -m audit.consumer` reads every event topic into the store.

Each batch is appended and quarantined in one transaction together with the partition
positions it moves to; Kafka's committed offsets are only a hint. Several consumers may share
the group. The projector folds the store into the projections by position, in transactions of
its own, and the sequencer hashes the tree and signs: in `python -m audit.projector` beside the
consumers (AUDIT_PROJECTOR_PROCESS=true), or as tasks of every consumer (one at a time).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError, OffsetOutOfRangeError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audit.alerts import mail
from audit.core.logs import SavedPosition, fingerprint, reset_reason
from audit.core.models import StoredEvent
from audit.gaps.detector import GapDetector
from audit.gaps.models import ResendRequest
from audit.ingest.models import ConsumerPosition
from audit.ingest.service import (
    Incoming,
    Message,
    Poison,
    append_audit,
    drain_pending,
    parse_batch,
    quarantine,
    record_resets,
    save_positions,
)
from audit.ingest.signatures import SourceKeys, raise_forged_alerts, taken
from audit.log.sequencer import Sequencer
from audit.projections.service import projected
from audit.projector import Wakeup, fold_until, keep_listening, sign_chain_head, worker_start
from audit.settings import Settings
from audit.store.service import (
    PENDING_CHANNEL,
    Signer,
    checkpoint_private_key,
    fresh_of,
    head,
    write,
)
from common.db import make_engine, make_sessionmaker, utcnow
from common.events import ALL_TOPICS, HEARTBEAT_TOPIC, TOPIC_BY_SOURCE, format_time
from common.kafka import client_options
from common.signing import SigningKeyError

log = logging.getLogger("ohs.audit.consumer")
# At most this many appended events are kept for the projector (beyond, it parses bodies).
KNOWN_MAX = 10_000


async def db_positions(
    maker: async_sessionmaker[AsyncSession],
) -> dict[tuple[str, int], SavedPosition]:
    """The next offset per partition, as last written with a batch, with its fingerprint."""
    async with maker() as session:
        rows = await session.execute(select(ConsumerPosition))
        return {
            (r.topic, r.partition): SavedPosition(r.next_offset, r.fingerprint)
            for r in rows.scalars()
        }


class _SeekToDatabase(ConsumerRebalanceListener):
    def __init__(self, owner: AuditConsumer) -> None:
        self.owner = owner

    async def on_partitions_revoked(self, revoked: Any) -> None:
        """Nothing to flush: every batch is committed to the database before the next poll."""

    async def on_partitions_assigned(self, assigned: Any) -> None:
        """Start where the database says, not where Kafka's committed offsets say, and check
        those positions against the broker's logs before a single record is fetched: a
        restarted broker's log may already be longer than a saved position. Paused until
        checked (a check that fails here is retried by the consumer's loop)."""
        owner, partitions = self.owner, list(assigned)
        # Said once per rebalance: which consumer of the group reads what.
        log.info("assigned %s", " ".join(sorted(f"{tp.topic}/{tp.partition}" for tp in partitions)))
        if owner.consumer is None or not partitions:
            return
        owner.consumer.pause(*partitions)
        try:
            await owner.seek_to_database(partitions)
            await owner.verify_positions()
        except Exception as exc:
            owner.unverified |= set(partitions)
            log.warning("positions not checked at assignment (%s): checking again", exc)


class AuditConsumer:
    """Consumes the event topics into the store; raises gap alerts; signs checkpoints."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.rules = settings.rules()
        self.engine = make_engine(settings.database_url, pool_size=5, batches=True)
        self.maker = make_sessionmaker(self.engine)
        self.consumer: AIOKafkaConsumer | None = None
        self.producer: AIOKafkaProducer | None = None
        self.signer: Signer | None = None
        self.source_keys = SourceKeys.from_settings(settings)
        # Signatures are checked in threads: libsodium releases the GIL (a second core).
        self.verifiers = ThreadPoolExecutor(2, thread_name_prefix="verify")
        # Beside a projector process the consumer signs nothing: the key stays out of the
        # process that parses what the broker delivers.
        self.checkpoint_key = (
            None if settings.projector_process else checkpoint_private_key(settings)
        )
        self.last_checkpoint = 0.0
        self.last_housekeeping = 0.0
        self.gaps = GapDetector(
            grace=settings.gap_grace_seconds,
            resend_interval=settings.resend_interval_seconds,
            max_wait=settings.gap_max_wait_seconds,
            margin=settings.implausible_seq_margin,
        )
        # Partitions whose saved position must be checked against the broker's log.
        self.unverified: set[TopicPartition] = set()
        # The next offset expected per partition: a batch starting before it is another log.
        self.expected: dict[tuple[str, int], int] = {}
        self.resets = 0
        self.stored = 0
        self.quarantined = 0
        self.projected = 0
        # Events this process appended, by position, until the projector folds them (so it
        # need not parse their bodies again); set when there is something new to fold.
        self.known: dict[int, StoredEvent] = {}
        self.appended = asyncio.Event()
        # Set by pending_event's trigger (NOTIFY at commit): the audit service wrote drafts.
        self.pending = asyncio.Event()
        self.pending.set()
        self.last_pending = 0.0

    def remember(self, stored: list[StoredEvent]) -> None:
        """Hand committed events to the projector (when this process runs one)."""
        if stored and not self.settings.projector_process:
            if len(self.known) >= KNOWN_MAX:
                # Folded by another consumer's projector (or a rebuild), or far behind.
                self.known.clear()
            self.known.update((s.position, s) for s in stored)
            self.appended.set()

    async def run_projector(self, stop: asyncio.Event) -> None:
        """Fold the store into the projections until stop is set (waits when caught up)."""
        self.projected += await fold_until(
            self.maker, self.rules, self.settings.projector_batch_size, stop, self.appended,
            self.known,
        )  # fmt: skip

    async def seek_to_database(self, partitions: list[TopicPartition]) -> None:
        """Seek each partition to its database position (or the beginning); the positions
        are checked against the broker's log before the next fetch."""
        assert self.consumer is not None
        positions = await db_positions(self.maker)
        fresh = [tp for tp in partitions if (tp.topic, tp.partition) not in positions]
        # An explicit offset, not seek_to_beginning(): that reset runs later, beside a fetch
        # already under way from the same offset, and the records come twice (read as a jump
        # back, i.e. a false reset).
        earliest = await self.consumer.beginning_offsets(fresh) if fresh else {}
        for tp in partitions:
            saved = positions.get((tp.topic, tp.partition))
            offset = earliest[tp] if saved is None else saved.offset
            self.consumer.seek(tp, offset)
            self.expected[(tp.topic, tp.partition)] = offset
            self.unverified.add(tp)

    async def verify_positions(self) -> None:
        """Compare each saved position with the partition's log; read another log from its
        earliest offset (duplicates are dropped by event_id, nothing is skipped)."""
        assert self.consumer is not None
        consumer = self.consumer
        parts = sorted(self.unverified & consumer.assignment())
        self.unverified &= consumer.assignment()
        if not parts:
            return
        t0 = time.monotonic()
        positions = await db_positions(self.maker)
        earliest = await consumer.beginning_offsets(parts)
        end = await consumer.end_offsets(parts)
        t1 = time.monotonic()
        wanted = {}
        for tp in parts:
            saved = positions.get((tp.topic, tp.partition))
            if saved and saved.fingerprint and earliest[tp] < saved.offset <= end[tp]:
                wanted[tp] = saved.offset - 1
        found = await self.probes(wanted)
        log.info(
            "%d saved positions checked: offsets in %.2fs, %d of %d probes read in %.2fs",
            len(parts), t1 - t0, len(found), len(wanted), time.monotonic() - t1,
        )  # fmt: skip
        resets = []
        for tp in parts:
            saved = positions.get((tp.topic, tp.partition))
            if saved is None:
                consumer.seek(tp, earliest[tp])
                self.expected[(tp.topic, tp.partition)] = earliest[tp]
                continue
            low, high = earliest[tp], end[tp]
            reason = reset_reason(saved, low, high, found.get(tp))
            if reason is None:
                consumer.seek(tp, saved.offset)
                continue
            consumer.seek(tp, low)
            self.expected[(tp.topic, tp.partition)] = low
            resets.append(
                {
                    "topic": tp.topic,
                    "partition": tp.partition,
                    "saved_offset": saved.offset,
                    "earliest_offset": low,
                    "end_offset": high,
                    "reason": reason,
                }
            )
        if resets:
            async with self.maker() as session, session.begin():
                await record_resets(session, resets, self.rules)
            self.resets += len(resets)
            log.warning(
                "broker log reset on %s: reading again from the earliest offsets",
                ", ".join(f"{r['topic']}/{r['partition']} ({r['reason']})" for r in resets),
            )
        self.unverified -= set(parts)
        consumer.resume(*parts)
        if resets:
            await self.after_reset(resets)

    async def probes(self, wanted: dict[TopicPartition, int]) -> dict[TopicPartition, str]:
        """The fingerprint of the message at each offset, where it can be read now.

        A consumer of its own, without a group: seeking the group's consumer would move its
        fetch positions and mix the probed records with the batch being fetched."""
        if not wanted:
            return {}
        probe = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="none",
            max_poll_records=1,
        )
        found: dict[TopicPartition, str] = {}
        try:
            await probe.start()
            probe.assign(list(wanted))
            for tp, offset in wanted.items():
                probe.seek(tp, offset)
            deadline = time.monotonic() + 2.0
            while len(found) < len(wanted) and time.monotonic() < deadline:
                missing = [tp for tp in wanted if tp not in found]
                got = await probe.getmany(*missing, timeout_ms=200, max_records=1)
                for tp, records in got.items():
                    if records and records[0].offset == wanted[tp]:
                        found[tp] = fingerprint(records[0].value)
                        probe.pause(tp)
        except (KafkaError, OSError, TimeoutError) as exc:
            log.warning(
                "position probe incomplete (%s): %d of %d read", exc, len(found), len(wanted)
            )
        finally:
            with contextlib.suppress(Exception):
                await probe.stop()
        return found

    async def after_reset(self, resets: list[dict[str, Any]]) -> None:
        """Ask the sources of the reset topics at once for what the old log may have held and
        the store does not (no grace: the broker said so itself)."""
        topics = {str(r["topic"]) for r in resets}
        sources = {s for s, topic in TOPIC_BY_SOURCE.items() if topic in topics}
        async with self.maker() as session:
            due = await self.gaps.reset_resends(session, sources)
        await self.send_resends(due)

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until stop is set; reconnect with backoff on broker or database trouble."""
        backoff = 0.5
        mailer = None
        projector = sequencer = None
        if self.checkpoint_key is not None:
            projector = asyncio.create_task(self.run_projector(stop))
            sequencer = asyncio.create_task(
                Sequencer(
                    self.maker,
                    self.checkpoint_key,
                    self.settings.log_origin,
                    self.settings.log_checkpoint_seconds,
                ).run(stop)
            )
        else:
            log.info("`python -m audit.projector` folds, hashes the tree and signs checkpoints")
        if mail.enabled(self.settings):
            mailer = asyncio.create_task(
                mail.AlertMailer(self.settings, self.maker, None).run(stop)
            )
            log.info("high alerts are mailed to %s", self.settings.alert_mail_to)
        listener = Wakeup(self.settings.database_url, self.pending, PENDING_CHANNEL)
        listening = asyncio.create_task(keep_listening(listener, stop, 2.0))
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
            # Short: after a broker restart the trail must catch up within seconds.
            backoff = min(backoff * 2, 2)
        if mailer is not None:
            await mailer
        await listening
        await listener.close()
        for task in (sequencer, projector):
            if task is not None:
                await task
        self.verifiers.shutdown(wait=False)
        await self.engine.dispose()

    async def _run(self, stop: asyncio.Event) -> None:
        s = self.settings
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=s.kafka_bootstrap,
            **client_options(s),
            group_id=s.consumer_group,
            enable_auto_commit=False,
            # Out of range, the client reads from the earliest offset (nothing is skipped);
            # handle() notices the jump back and records the reset.
            auto_offset_reset="earliest",
            max_poll_records=s.consumer_batch_size,
            fetch_max_wait_ms=s.consumer_fetch_max_wait_ms,
            # A broker that lost its log lost the group too: the join that follows is where
            # the reset is found, and the broker may hold it up to half the session timeout.
            session_timeout_ms=s.consumer_session_timeout_ms,
            heartbeat_interval_ms=s.consumer_heartbeat_interval_ms,
        )
        topics = [*ALL_TOPICS, HEARTBEAT_TOPIC]
        self.consumer.subscribe(topics, listener=_SeekToDatabase(self))
        await self.consumer.start()
        log.info("audit consumer reading %s from %s", ", ".join(ALL_TOPICS), s.kafka_bootstrap)
        while not stop.is_set():
            if self.unverified:
                await self.verify_positions()
            try:
                batch = await self.fetch()
            except OffsetOutOfRangeError as exc:
                log.warning("fetch out of range (%s): checking the saved positions", exc)
                self.unverified |= self.consumer.assignment()
                continue
            if batch:
                # The audit service's own events committed meanwhile (a triage action) are
                # chained first: they happened before this batch was read, so an alert
                # resolved before an event arrived is closed to it, live as in a replay.
                try:
                    await self.drain_pending()
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
        positions: dict[tuple[str, int], tuple[int, str | None]] = {}
        resets: list[dict[str, Any]] = []
        messages: list[Message] = []
        for tp, records in batch.items():
            if not records:
                continue
            expected = self.expected.get((tp.topic, tp.partition))
            if expected is not None and records[0].offset < expected:
                # The client found the position out of range and went back to the earliest.
                resets.append(
                    {
                        "topic": tp.topic,
                        "partition": tp.partition,
                        "saved_offset": expected,
                        "earliest_offset": records[0].offset,
                        "end_offset": (self.consumer and self.consumer.highwater(tp)) or -1,
                        "reason": f"position {expected} out of range: read from the earliest",
                    }
                )
            positions[(tp.topic, tp.partition)] = (
                records[-1].offset + 1,
                fingerprint(records[-1].value),
            )
            if tp.topic == HEARTBEAT_TOPIC:
                for record in records:
                    if self.source_keys.heartbeat_ok(record.value, record.headers):
                        self.gaps.note_heartbeat(record.value)
                continue
            messages.extend(
                Message(tp.topic, tp.partition, r.offset, r.key, r.value, tuple(r.headers or ()))
                for r in records
            )
        for parsed in await parse_batch(messages, self.source_keys, self.verifiers):
            if isinstance(parsed, Incoming):
                why = self.gaps.implausible(parsed.event)
                if why is None:
                    good.append(parsed)
                    continue
                parsed = Poison(parsed.message, why)
            poison.append(parsed)
        async with self.maker() as session, session.begin():
            await record_resets(session, resets, self.rules)
            refused: list[tuple[Incoming, str]] = []
            fresh = await fresh_of(session, good, refused)
            poison += taken(refused)
            await quarantine(session, poison)
            await save_positions(session, positions)
            # Last: these take the chain lock, held only to the commit.
            stored = await raise_forged_alerts(session, poison, self.rules)
            stored += await write(session, fresh)
        self.remember(stored)
        for key, (offset, _) in positions.items():
            self.expected[key] = offset
        self.resets += len(resets)
        self.stored += len(stored)
        if resets:
            log.warning(
                "broker log reset found while reading: %s",
                ", ".join(f"{r['topic']}/{r['partition']} ({r['reason']})" for r in resets),
            )
            await self.after_reset(resets)
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
        """Chain the events the audit app wrote (history reads, acknowledgements), when told
        there are some or, in case a notice was lost, every consumer_pending_poll_seconds."""
        now = time.monotonic()
        if not self.pending.is_set() and (
            now - self.last_pending < self.settings.consumer_pending_poll_seconds
        ):
            return
        # Cleared first: a notice arriving while this drains sets it for the next round.
        self.pending.clear()
        self.last_pending = now
        while True:
            async with self.maker() as session, session.begin():
                moved = await drain_pending(session, self.rules, self.settings.consumer_batch_size)
            self.stored += moved
            if moved:
                self.appended.set()
            if moved < self.settings.consumer_batch_size:
                return

    async def lagging_sources(self) -> set[str]:
        """Sources with events still unread in the group's partitions of their topic.

        A hole in such a source's numbers is most likely backlog on a slower partition, not a
        loss: gap alerts and resend requests wait until the topic is read to its end."""
        consumer = self.consumer
        if consumer is None or await self.projector_behind():
            # Holes are seen by the projector: one behind the store has not seen their fills.
            return set(TOPIC_BY_SOURCE)
        behind: set[str] = set()
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            position = await consumer.position(tp)
            if high is not None and position > high:
                # Past the end of the log: the broker's log is not the one read so far.
                self.unverified.add(tp)
            if high is None or position < high:
                behind.update(s for s, topic in TOPIC_BY_SOURCE.items() if topic == tp.topic)
        return behind | await self.group_lagging(consumer)

    async def group_lagging(self, consumer: AIOKafkaConsumer) -> set[str]:
        """Sources whose topic another consumer of the group has not read to its end yet (the
        positions every consumer saves, against the partitions' end offsets)."""
        mine = consumer.assignment()
        others = [
            TopicPartition(topic, p)
            for topic in ALL_TOPICS
            for p in consumer.partitions_for_topic(topic) or ()
            if TopicPartition(topic, p) not in mine
        ]
        if not others:
            return set()
        try:
            end = await consumer.end_offsets(others)
        except (KafkaError, OSError, TimeoutError) as exc:
            log.warning("end offsets of the group's other partitions unknown (%s)", exc)
            return set(TOPIC_BY_SOURCE)
        saved = await db_positions(self.maker)
        behind: set[str] = set()
        for tp in others:
            position = saved.get((tp.topic, tp.partition))
            if (position.offset if position else 0) < end[tp]:
                behind.update(s for s, topic in TOPIC_BY_SOURCE.items() if topic == tp.topic)
        return behind

    async def projector_behind(self) -> bool:
        """Whether the store holds events the projections have not folded yet."""
        async with self.maker() as session:
            last = await projected(session)
            position, _ = await head(session)
        return position > last

    async def housekeeping(self) -> None:
        """About once a second: alert on gaps past their grace, ask for resends, checkpoint."""
        now = time.monotonic()
        if now - self.last_housekeeping < 1.0:
            return
        self.last_housekeeping = now
        lagging = await self.lagging_sources()
        await self._alert_gaps(lagging)
        await self._request_resends(lagging)
        key = self.checkpoint_key
        if key is not None and now - self.last_checkpoint >= self.settings.checkpoint_seconds:
            self.signer = await sign_chain_head(self.maker, key, self.signer)
            self.last_checkpoint = now

    async def _alert_gaps(self, lagging: set[str]) -> None:
        """Holes past their grace (middle and tail) become gap_detected events."""
        async with self.maker() as session, session.begin():
            drafts = await self.gaps.drafts(session, lagging)
            if drafts:
                await append_audit(session, drafts, self.rules)
        self.gaps.note_drafted(drafts)
        if drafts:
            log.warning("%d sequence gap(s) still open after the grace period", len(drafts))

    async def _request_resends(self, lagging: set[str]) -> None:
        async with self.maker() as session:
            due = await self.gaps.due_resends(session, lagging)
        await self.send_resends(due)

    async def send_resends(self, due: list[ResendRequest]) -> None:
        """Publish resend requests on the resend topic (a failure waits for the next round)."""
        if not due:
            return
        try:
            if self.producer is None:
                self.producer = AIOKafkaProducer(
                    bootstrap_servers=self.settings.kafka_bootstrap,
                    enable_idempotence=False,
                    **client_options(self.settings),
                )
                await self.producer.start()
            for request in due:
                await self.producer.send_and_wait(
                    self.settings.resend_topic,
                    json.dumps(request.message(format_time(utcnow()))).encode(),
                    key=request.source.encode(),
                )
                self.gaps.sent(request)
                log.info(
                    "asked %s to resend %d..%s",
                    request.source,
                    request.from_seq,
                    "" if request.to_seq is None else request.to_seq,
                )
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
    stop = worker_start()
    try:
        consumer = AuditConsumer(Settings())
    except SigningKeyError as exc:
        raise SystemExit(f"audit consumer: {exc}") from None
    await consumer.run(stop)
    log.info(
        "audit consumer stopped: %d stored, %d quarantined, %d projected",
        consumer.stored, consumer.quarantined, consumer.projected,
    )  # fmt: skip


def main() -> None:
    """Run the audit consumer until SIGTERM."""
    asyncio.run(_main())


if __name__ == "__main__":
    main()
