"""Transactional outbox: events written in the caller's transaction, relayed to Kafka."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import logging
import random
import time
import uuid
import zlib
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from fastapi import FastAPI
from sqlalchemy import BigInteger, Boolean, Column, DateTime, false, insert, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from common.app import TRACING_OFF, Hook
from common.db import BATCH_SERVER_SETTINGS, make_engine, make_sessionmaker, utcnow
from common.errors import unavailable
from common.events import (
    HEARTBEAT_TOPIC,
    RESEND_TOPIC,
    TOPIC_BY_SOURCE,
    Actor,
    Client,
    EventDraft,
    Resource,
    Source,
    format_time,
)
from common.kafka import client_options
from common.runtime import settle_heap, yield_cpu
from common.signing import EventSigner, SigningKeyError, key_from_secret
from common.telemetry import current_traceparent
from common.trail import DenialDetails, Trail

log = logging.getLogger("ohs.outbox")
NOTIFY_CHANNEL = "outbox"
MAX_RESEND = 100_000
# A resend request written this long before the relay started is still served (a relay that
# starts with the stack must not miss what the audit consumer asked while it was starting).
RESEND_REQUEST_SLACK = 60.0


class Outbox(SQLModel, table=True):
    """An event waiting for (or done with) publication; source_seq is given by the relay."""

    __tablename__ = "outbox"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    event_id: uuid.UUID = Field(unique=True, nullable=False)
    topic: str = Field(max_length=64, nullable=False)
    key: str | None = Field(default=None, max_length=64)
    payload: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    traceparent: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    source_seq: int | None = Field(default=None, sa_column=Column(BigInteger, unique=True))
    published_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


class OutboxCursor(SQLModel, table=True):
    """The last source_seq handed out, per source."""

    __tablename__ = "outbox_cursor"

    source: str = Field(primary_key=True, max_length=32)
    last_seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    waiting: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )


def _rows(drafts: Sequence[EventDraft], traceparent: str | None) -> list[dict[str, Any]]:
    return [
        {
            "event_id": d.event_id,
            "topic": d.topic,
            "key": d.worker_id,
            "payload": d.payload(),
            "traceparent": traceparent,
            "created_at": utcnow(),
        }
        for d in drafts
    ]


async def record_events(session: AsyncSession, drafts: Sequence[EventDraft]) -> None:
    """Write envelopes to the outbox inside the caller's transaction (no commit here)."""
    if drafts:
        await session.execute(insert(Outbox), _rows(drafts, current_traceparent()))


class GroupCommit:
    """The traces of concurrent reads, written to the outbox in one transaction, one commit.

    A read changes nothing but its trace, so the trace need not share the read's transaction;
    it must only be durable before the response leaves, and `record` returns only then. While
    one commit is in flight the next requests queue up and share the following one: no added
    wait when idle, one WAL flush for many requests under load. Writes keep their events in
    their own transaction (`record_events`)."""

    def __init__(self, sessionmaker: Callable[[], AsyncSession], max_batch: int = 500) -> None:
        self.sessionmaker = sessionmaker
        self.max_batch = max_batch
        self._queue: list[tuple[list[dict[str, Any]], asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the writer task (from the app's lifespan)."""
        self._task = asyncio.create_task(self._run())

    async def record(self, events: Sequence[EventDraft]) -> None:
        """Return once the events are committed; raise what the commit raised."""
        if not events:
            return
        if self._task is None or self._task.done():
            raise unavailable("The trace writer is not running")
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((_rows(events, current_traceparent()), done))
        self._wake.set()
        await done

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch = self._queue[: self.max_batch]
                del self._queue[: self.max_batch]
                await self._flush(batch)

    async def _flush(self, batch: list[tuple[list[dict[str, Any]], asyncio.Future[None]]]) -> None:
        outcome: BaseException | None = None
        try:
            async with self.sessionmaker() as session:
                await session.execute(insert(Outbox), [row for rows, _ in batch for row in rows])
                await session.commit()
        except Exception as exc:
            outcome = exc
        except asyncio.CancelledError:
            outcome = unavailable("The service is stopping")
            raise
        finally:
            for _, done in batch:
                if done.done():
                    continue  # the request went away; its trace is committed (or not) anyway
                if outcome is None:
                    done.set_result(None)
                else:
                    done.set_exception(outcome)

    async def close(self) -> None:
        """Stop the writer task; a request still waiting gets a 503, never a silent hang."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for _, done in self._queue:
            if not done.done():
                done.set_exception(unavailable("The service is stopping"))
        self._queue.clear()


class OutboxSink:
    """A publishing service's sink: its outbox, in the request's transaction or group-committed."""

    def __init__(self, group_commit: GroupCommit) -> None:
        self.group_commit = group_commit

    async def write(self, session: AsyncSession, drafts: Sequence[EventDraft]) -> None:
        """In the caller's transaction."""
        await record_events(session, drafts)

    async def write_now(self, drafts: Sequence[EventDraft]) -> None:
        """Committed with other requests' traces before this returns."""
        await self.group_commit.record(drafts)


def outbox_trail(source: Source, denial_details: DenialDetails | None = None) -> Hook:
    """Lifespan hook: app.state.trail writing to this service's outbox.

    The group-commit writer has a connection of its own: requests hold their pooled connection
    while they wait for their trace, and a burst of reads must not leave none to commit them."""

    @contextlib.asynccontextmanager
    async def hook(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(app.state.settings.database_url, pool_size=1)
        group_commit = GroupCommit(make_sessionmaker(engine))
        group_commit.start()
        app.state.group_commit = group_commit
        app.state.trail = Trail(source, OutboxSink(group_commit), denial_details)
        if not app.state.settings.audit_access:
            # Tracing of reads switched off (never in production): say so on the trail itself.
            log.warning("%s: %s", source, TRACING_OFF)
            await group_commit.record(
                [
                    EventDraft(
                        source=source,
                        actor=None,
                        action="tracing_disabled",
                        resource=Resource(type="service", id=source, part="reads"),
                        details={"setting": "OHS_AUDIT_ACCESS=false", "message": TRACING_OFF},
                    )
                ]
            )
        try:
            yield
        finally:
            await group_commit.close()
            await engine.dispose()

    return hook


def asyncpg_dsn(url: str) -> str:
    """A plain postgresql:// DSN for asyncpg from a SQLAlchemy URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _lock_key(source: str) -> int:
    return zlib.crc32(f"outbox-relay:{source}".encode())


class OutboxRelay:
    """Publishes committed outbox rows in order; one active relay per source (advisory lock)."""

    def __init__(
        self,
        *,
        database_url: str,
        bootstrap: str,
        source: str,
        signer: EventSigner,
        batch_size: int = 500,
        poll_seconds: float = 1.0,
        send_timeout: float = 5.0,
        # Short: after a broker restart delivery must resume within a second or two.
        max_backoff: float = 2.0,
        heartbeat_seconds: float = 1.0,
        linger_seconds: float = 0.05,
        kafka_options: dict[str, Any] | None = None,
    ) -> None:
        self.dsn = asyncpg_dsn(database_url)
        self.bootstrap = bootstrap
        self.kafka_options = kafka_options or {}  # common.kafka.client_options (SASL, TLS)
        self.source = source
        self.signer = signer
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.send_timeout = send_timeout
        self.max_backoff = max_backoff
        self.heartbeat_seconds = heartbeat_seconds
        self.linger_seconds = linger_seconds
        self.published = 0
        self.resent = 0
        self._wake = asyncio.Event()
        self._producer: AIOKafkaProducer | None = None
        self._stopping = False
        self._last_beat = 0.0
        self._beat_placed: tuple[int, int] | None = None
        self._rewind = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None
        # Rows are marked published on a connection of their own while the next batch goes
        # out; the batch read skips what this run has sent (through `_sent`), marked or not.
        self._mark_conn: asyncpg.Connection | None = None
        self._marking: asyncio.Task[None] | None = None
        self._sent = 0
        self._resent_from: int | None = None

    async def _new_producer(self) -> AIOKafkaProducer:
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            **self.kafka_options,
            acks="all",
            # Tansu has no idempotent producer; duplicates are removed by event_id downstream.
            enable_idempotence=False,
            linger_ms=5,
            request_timeout_ms=int(self.send_timeout * 1000),
            max_batch_size=1 << 20,
        )
        try:
            await asyncio.wait_for(producer.start(), self.send_timeout)
        except BaseException:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.stop(), self.send_timeout)
            raise
        await self._ensure_topics()
        return producer

    async def _ensure_topics(self) -> None:
        # A restarted in-memory broker has forgotten every topic; recreating them here lets
        # delivery resume without an operator. Where topics are managed elsewhere this is a no-op.
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, **self.kafka_options)
        try:
            await asyncio.wait_for(admin.start(), self.send_timeout)
            existing = set(await asyncio.wait_for(admin.list_topics(), self.send_timeout))
            wanted = [
                NewTopic(t, num_partitions=3, replication_factor=1)
                for t in (TOPIC_BY_SOURCE[self.source], HEARTBEAT_TOPIC, RESEND_TOPIC)
                if t not in existing
            ]
            if wanted:
                await asyncio.wait_for(admin.create_topics(wanted), self.send_timeout)
        except Exception as exc:
            log.info("relay %s: topics not checked (%s)", self.source, exc)
        finally:
            with contextlib.suppress(Exception):
                await admin.close()

    async def _drop_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.stop(), self.send_timeout)

    async def run(self) -> None:
        """Relay forever: hold the source lock, drain on NOTIFY or every poll interval."""
        self._listener = asyncio.create_task(self._listen_for_resends())
        backoff = 0.2
        while not self._stopping:
            try:
                await self._run_locked()
                backoff = 0.2
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("relay %s: %s; retrying in %.1fs", self.source, exc, backoff)
                await self._drop_producer()
                await asyncio.sleep(backoff * (1 + random.random() / 4))
                backoff = min(backoff * 2, self.max_backoff)

    async def _run_locked(self) -> None:
        conn = await asyncpg.connect(self.dsn, timeout=5)
        try:
            # A standby relay waits here until the active one dies and its lock is freed.
            await conn.execute("SELECT pg_advisory_lock($1)", _lock_key(self.source))
            await conn.add_listener(NOTIFY_CHANNEL, self._on_notify)
            work = await asyncpg.connect(self.dsn, timeout=5, server_settings=BATCH_SERVER_SETTINGS)
            self._sent = 0
            try:
                self._mark_conn = await asyncpg.connect(
                    self.dsn, timeout=5, server_settings=BATCH_SERVER_SETTINGS
                )
                while not self._stopping:
                    moved = await self.drain_once(work)
                    await self._maybe_heartbeat(work)
                    if moved < self.batch_size:
                        await self._marked()
                        await self._wait(work)
                        # A few more rows per publish and per update, for a few ms of delay.
                        await asyncio.sleep(self.linger_seconds)
                await self._marked()
            finally:
                if self._marking is not None:
                    self._marking.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await self._marking
                    self._marking = None
                if self._mark_conn is not None:
                    with contextlib.suppress(Exception):
                        await self._mark_conn.close()
                    self._mark_conn = None
                await work.close()
        finally:
            with contextlib.suppress(Exception):
                await conn.close()

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def _wait(self, conn: asyncpg.Connection) -> None:
        await conn.execute(
            "INSERT INTO outbox_cursor (source, last_seq, waiting) VALUES ($1, 0, true) "
            "ON CONFLICT (source) DO UPDATE SET waiting = true",
            self.source,
        )
        # A row committed before the flag was visible did not notify: look once more.
        pending = await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM outbox WHERE published_at IS NULL)"
        )
        if not pending:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
        self._wake.clear()
        await conn.execute(
            "UPDATE outbox_cursor SET waiting = false WHERE source = $1", self.source
        )

    async def drain_once(self, conn: asyncpg.Connection) -> int:
        """Number rows not yet numbered, then publish one batch of unpublished rows."""
        await self._assign_seqs(conn)
        if self._resent_from is not None:
            # A resend reopened rows this run had sent: read from there again.
            self._sent = min(self._sent, self._resent_from - 1)
            self._resent_from = None
        rows = await conn.fetch(
            "SELECT id, topic, key, payload::text AS payload, traceparent, source_seq "
            "FROM outbox WHERE published_at IS NULL AND source_seq IS NOT NULL "
            "AND source_seq > $2 ORDER BY source_seq LIMIT $1",
            self.batch_size,
            self._sent,
        )
        if not rows:
            return 0
        await self._publish(rows)
        ids = [r["id"] for r in rows]
        self._sent = rows[-1]["source_seq"]
        self.published += len(rows)
        if self._mark_conn is None:
            await self._mark(conn, ids)
        else:
            # One mark in flight at most; it overlaps the next batch's numbering and publish.
            await self._marked()
            self._marking = asyncio.create_task(self._mark(self._mark_conn, ids))
        return len(rows)

    async def _mark(self, conn: asyncpg.Connection, ids: list[int]) -> None:
        await conn.execute(
            "UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])", ids
        )

    async def _marked(self) -> None:
        """Wait for the rows sent last to be marked published (raises what the mark raised)."""
        if self._marking is not None:
            marking, self._marking = self._marking, None
            await marking

    async def _assign_seqs(self, conn: asyncpg.Connection) -> None:
        # Select unnumbered committed rows rather than "after the last id seen": a slow
        # transaction that commits late still gets a number and is never skipped.
        async with conn.transaction():
            ids = await conn.fetch(
                "SELECT id FROM outbox WHERE source_seq IS NULL ORDER BY id LIMIT $1 FOR UPDATE",
                self.batch_size,
            )
            if not ids:
                return
            await conn.execute(
                "INSERT INTO outbox_cursor (source, last_seq) VALUES ($1, 0) "
                "ON CONFLICT (source) DO NOTHING",
                self.source,
            )
            last = await conn.fetchval(
                "UPDATE outbox_cursor SET last_seq = last_seq + $2 WHERE source = $1 "
                "RETURNING last_seq",
                self.source,
                len(ids),
            )
            first = last - len(ids) + 1
            await conn.execute(
                "UPDATE outbox o SET source_seq = v.seq, "
                "payload = jsonb_set(o.payload, '{source_seq}', to_jsonb(v.seq)) "
                "FROM unnest($1::bigint[], $2::bigint[]) AS v(id, seq) WHERE o.id = v.id",
                [r["id"] for r in ids],
                list(range(first, last + 1)),
            )

    async def _publish(self, rows: Iterable[asyncpg.Record]) -> None:
        if self._producer is None:
            self._producer = await self._new_producer()
        producer = self._producer
        futures = []
        for row in rows:
            # source_seq is in the payload only since _assign_seqs: sign the very bytes sent.
            value = row["payload"].encode()
            headers = [("source", self.source.encode()), *self.signer.headers(value)]
            if row["traceparent"]:
                headers.append(("traceparent", row["traceparent"].encode()))
            futures.append(
                await asyncio.wait_for(
                    producer.send(
                        row["topic"],
                        value=value,
                        key=row["key"].encode() if row["key"] else None,
                        headers=headers,
                    ),
                    self.send_timeout,
                )
            )
        await asyncio.wait_for(asyncio.gather(*futures), self.send_timeout * 2)

    async def _maybe_heartbeat(self, conn: asyncpg.Connection) -> None:
        # The heartbeat tells the audit service how far this source has published, so it can
        # also see a hole at the tail (events a crashed in-memory broker lost with no successor).
        now = asyncio.get_running_loop().time()
        if now - self._last_beat < self.heartbeat_seconds:
            return
        last_seq = await conn.fetchval(
            "SELECT coalesce((SELECT min(source_seq) - 1 FROM outbox "
            "WHERE published_at IS NULL AND source_seq IS NOT NULL), "
            "(SELECT last_seq FROM outbox_cursor WHERE source = $1), 0)",
            self.source,
        )
        if self._producer is None:
            self._producer = await self._new_producer()
        beat = {"source": self.source, "last_seq": int(last_seq), "at": format_time(utcnow())}
        value = json.dumps(beat).encode()
        meta = await asyncio.wait_for(
            self._producer.send_and_wait(
                HEARTBEAT_TOPIC,
                value,
                key=self.source.encode(),
                headers=[("source", self.source.encode()), *self.signer.headers(value)],
            ),
            self.send_timeout,
        )
        self._last_beat = now
        # Beats of one source go to one partition: an offset that does not grow means the
        # broker has another log (restarted empty, truncated, recreated). The resend topic's
        # log is new as well; the listener reads it again from the start, or it would miss
        # the audit consumer's requests below its old position.
        placed = (meta.partition, meta.offset)
        before = self._beat_placed
        if before is not None and placed[0] == before[0] and placed[1] <= before[1]:
            log.info("relay %s: the broker has another log; rereading resends", self.source)
            self._rewind.set()
        self._beat_placed = placed

    async def _listen_for_resends(self) -> None:
        # From the earliest offset, not the latest: a broker that lost its log (or a listener
        # that reconnects) must not skip a request written before the listener was back, and
        # after a broker reset the audit consumer asks at once. Requests older than the
        # relay's start (less RESEND_REQUEST_SLACK) are history; ones read twice are skipped.
        since_ms = int(time.time() * 1000) - int(RESEND_REQUEST_SLACK * 1000)
        seen: dict[tuple[int, bytes], None] = {}
        backoff = 0.2
        while not self._stopping:
            consumer = AIOKafkaConsumer(
                RESEND_TOPIC,
                bootstrap_servers=self.bootstrap,
                **self.kafka_options,
                group_id=None,
                auto_offset_reset="earliest",
                request_timeout_ms=int(self.send_timeout * 2000),
            )
            try:
                await asyncio.wait_for(consumer.start(), self.send_timeout)
                backoff = 0.2
                while not self._stopping:
                    if self._rewind.is_set():
                        self._rewind.clear()
                        await consumer.seek_to_beginning()
                    batch = await consumer.getmany(timeout_ms=200)
                    for message in (m for ms in batch.values() for m in ms):
                        if 0 <= message.timestamp < since_ms:
                            continue
                        key = (message.timestamp, message.value or b"")
                        if key in seen:
                            continue
                        seen[key] = None
                        while len(seen) > 10_000:
                            del seen[next(iter(seen))]
                        await self._on_resend_request(message.value)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.info("relay %s: resend listener: %s", self.source, exc)
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(consumer.stop(), self.send_timeout)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.max_backoff)

    async def _on_resend_request(self, raw: bytes | None) -> None:
        try:
            request = json.loads(raw or b"")
            if request.get("source") != self.source:
                return
            first = int(request["from_seq"])
            # No to_seq: open-ended, everything published from first on (a broker reset).
            to_seq = request.get("to_seq")
            last = first + MAX_RESEND - 1 if to_seq is None else int(to_seq)
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("relay %s: ignoring malformed resend request", self.source)
            return
        if 1 <= first <= last and last - first < MAX_RESEND:
            count = await self.resend(first, last)
            self.resent += count
            log.info("relay %s: re-publishing %d..%d (%d rows)", self.source, first, last, count)

    async def resend(self, from_seq: int, to_seq: int) -> int:
        """Mark a range of already published events for publication again (gap repair)."""
        conn = await asyncpg.connect(self.dsn, timeout=5)
        try:
            status = await conn.execute(
                "UPDATE outbox SET published_at = NULL WHERE source_seq BETWEEN $1 AND $2 "
                "AND published_at IS NOT NULL",
                from_seq,
                to_seq,
            )
        finally:
            await conn.close()
        reopened = int(status.split()[-1])
        if reopened:
            low = self._resent_from
            self._resent_from = from_seq if low is None else min(low, from_seq)
        self._wake.set()
        return reopened

    async def stop(self) -> None:
        """Stop after the current batch."""
        self._stopping = True
        self._wake.set()
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
        await self._drop_producer()


async def pending_count(session: AsyncSession) -> int:
    """Events not yet published (for /stats and tests)."""
    result = await session.execute(text("SELECT count(*) FROM outbox WHERE published_at IS NULL"))
    return int(result.scalar_one())


def signer_from_settings(settings: Any) -> EventSigner:
    """The relay's signing key from OHS_EVENT_SIGNING_KEY_FILE or OHS_EVENT_SIGNING_KEY.

    Refused when absent, in every environment: an unsigned envelope is quarantined by audit as
    a forgery, so a relay without its key could only lose events (the dev stack makes one)."""
    secret = settings.event_signing_key
    private = key_from_secret(
        secret.get_secret_value() if secret is not None else None,
        settings.event_signing_key_file,
        "OHS_EVENT_SIGNING_KEY",
    )
    if private is None:
        raise SigningKeyError(
            "the outbox relay needs its signing key: set OHS_EVENT_SIGNING_KEY_FILE (a PEM or "
            "base64 Ed25519 private key, e.g. a Docker secret) or OHS_EVENT_SIGNING_KEY"
        )
    return EventSigner(private)


async def _main(service: str) -> None:
    settings = importlib.import_module(f"{service}.settings").Settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        signer = signer_from_settings(settings)
    except SigningKeyError as exc:
        raise SystemExit(f"outbox relay for {service}: {exc}") from None
    relay = OutboxRelay(
        database_url=settings.database_url,
        bootstrap=settings.kafka_bootstrap,
        source=service,
        signer=signer,
        send_timeout=settings.kafka_send_timeout_seconds,
        kafka_options=client_options(settings),
    )
    settle_heap()
    yield_cpu()
    log.info(
        "outbox relay for %s publishing to %s, signing with kid %s",
        service,
        settings.kafka_bootstrap,
        signer.kid,
    )
    try:
        await relay.run()
    finally:
        await relay.stop()


def main() -> None:
    """CLI: run the outbox relay of one service."""
    parser = argparse.ArgumentParser(
        prog="python -m common.outbox",
        description="Publish a service's committed outbox rows to Kafka, in order, forever.",
    )
    parser.add_argument("service", choices=sorted(TOPIC_BY_SOURCE), help="the publishing service")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(args.service))


if __name__ == "__main__":
    main()


def build_event(
    *,
    source: Source,
    action: str,
    outcome: str = "success",
    actor: Actor | dict[str, Any] | None,
    worker_id: str | None = None,
    resource: Resource | dict[str, Any] | None = None,
    purpose: str | None = None,
    client: Client | dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
) -> EventDraft:
    """Transitional: a draft from loose fields, until every caller uses common.trail."""
    return EventDraft.model_validate(
        {
            "source": source,
            "action": action,
            "outcome": outcome,
            "actor": actor,
            "worker_id": worker_id,
            "resource": resource,
            "purpose": purpose,
            "client": client or {},
            "details": details,
        }
    )


async def record_event(session: AsyncSession, **fields: Any) -> EventDraft:
    """Transitional: build one draft and write it in the caller's transaction."""
    draft = build_event(**fields)
    await record_events(session, [draft])
    return draft
