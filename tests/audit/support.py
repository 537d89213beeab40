"""Helpers of the audit tests: envelopes with following sequence numbers, actors, publishing."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer

from audit.projections.service import PROJECTOR_LOCK
from audit.store.service import CHAIN_LOCK
from common.devstack import PUBLISHERS, Stack
from common.events import TOPIC_BY_SOURCE, AccessEvent
from common.signing import EventSigner, load_private_key


def dsn(stack: Stack, user: str = "postgres") -> str:
    """An asyncpg DSN for the audit database."""
    return stack.postgres.url("audit", user).replace("+asyncpg", "")


# The test stack's real relays number their sources from 1; the envelopes made here number
# theirs above this, so the two never claim the same (source, source_seq) — the store would
# quarantine the later one as a forgery (and rightly so).
FAKE_SEQ_BASE = 1_000_000_000


class Events:
    """Builds access-event/1 envelopes with sequence numbers that follow the store's."""

    def __init__(self, db: asyncpg.Connection) -> None:
        self.db = db
        self.last: dict[str, int] = {}

    async def next_seq(self, source: str) -> int:
        """One past the highest source_seq seen for the source (by audit or by us)."""
        stored = await self.db.fetchval(
            "SELECT coalesce(max(source_seq), 0) FROM event WHERE source = $1", source
        )
        seq = max(stored, self.last.get(source, 0), FAKE_SEQ_BASE) + 1
        self.last[source] = seq
        return seq

    async def make(
        self,
        *,
        source: str = "records",
        action: str = "read",
        outcome: str = "success",
        worker_id: str | None = None,
        actor: dict[str, Any] | None = None,
        part: str | None = "exam",
        purpose: str | None = None,
        details: dict[str, Any] | None = None,
        seq: int | None = None,
        occurred_at: datetime | None = None,
    ) -> AccessEvent:
        """An envelope; the sequence continues the source's unless given."""
        return AccessEvent(
            event_id=uuid.uuid4(),
            occurred_at=occurred_at or datetime.now(UTC),
            source=source,  # type: ignore[arg-type]
            source_seq=seq if seq is not None else await self.next_seq(source),
            actor=actor,  # type: ignore[arg-type]
            action=action,
            outcome=outcome,  # type: ignore[arg-type]
            worker_id=worker_id,
            resource={"type": "worker", "id": worker_id, "part": part} if worker_id else None,  # type: ignore[arg-type]
            purpose=purpose,
            details=details,
        )


def staff(profile: str = "physician", name: str | None = None) -> dict[str, str]:
    """An actor of a staff profile, unique per call."""
    uid = str(uuid.uuid4())
    return {
        "user_id": uid,
        "username": f"{profile}-{uid[:8]}",
        "display_name": name or f"Dr {uid[:6]}",
        "profile": profile,
    }


def care(care_relationship: bool = True, employer: str = "Acme", grant: str | None = None):
    """The details records attaches to a file access."""
    return {"care_relationship": care_relationship, "worker_employer": employer, "grant_id": grant}


def dev_signers(stack: Stack) -> dict[str, EventSigner]:
    """The test stack's signing key of every publishing source (as its relays have them)."""
    return {
        s: EventSigner(load_private_key(stack.event_key_path(s).read_bytes())) for s in PUBLISHERS
    }


class SignedProducer:
    """A producer on the stack's broker that signs as the relays do: with the dev key of the
    source the envelope claims (anything that is no envelope of a known source goes unsigned).
    `raw` is the plain producer, for forgeries."""

    def __init__(self, raw: AIOKafkaProducer, signers: dict[str, EventSigner]) -> None:
        self.raw = raw
        self.signers = signers

    def headers_for(self, value: bytes) -> list[tuple[str, bytes]]:
        """The sig and kid headers of the source the value claims, or none."""
        try:
            source = json.loads(value).get("source")
        except (ValueError, AttributeError):
            return []
        signer = self.signers.get(source) if isinstance(source, str) else None
        return signer.headers(value) if signer else []

    async def send_and_wait(
        self,
        topic: str,
        value: bytes,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> Any:
        """Send one message signed with its claimed source's key."""
        return await self.raw.send_and_wait(
            topic, value, key=key, headers=[*(headers or []), *self.headers_for(value)]
        )


async def publish(producer: SignedProducer, *envelopes: AccessEvent) -> None:
    """Send envelopes to their source's topic, keyed by worker."""
    for e in envelopes:
        await producer.send_and_wait(
            TOPIC_BY_SOURCE[e.source],
            e.to_json(),
            key=e.worker_id.encode() if e.worker_id else None,
        )


async def stored(db: asyncpg.Connection, *envelopes: AccessEvent) -> bool:
    """Whether every envelope is in the store and folded into the projections."""
    ids = [e.event_id for e in envelopes]
    row = await db.fetchrow(
        "SELECT count(*) AS n, max(position) AS last FROM event WHERE event_id = ANY($1::uuid[])",
        ids,
    )
    if row["n"] != len(ids):
        return False
    folded = await db.fetchval(
        "SELECT position FROM projection_position WHERE name = 'projections'"
    )
    return not ids or (folded or 0) >= row["last"]


STORE_TRIGGERS = (("event", "event_append_only"),)
LOG_TRIGGERS = (
    *STORE_TRIGGERS,
    ("log_tile", "log_tile_grows_only"),
    ("log_tile", "log_tile_no_truncate"),
    ("log_checkpoint", "log_checkpoint_append_only"),
    ("log_checkpoint", "log_checkpoint_no_truncate"),
)


@contextlib.asynccontextmanager
async def intruder(
    db: asyncpg.Connection, triggers: Sequence[tuple[str, str]] = STORE_TRIGGERS
) -> AsyncIterator[asyncpg.Connection]:
    """The superuser with the append-only triggers off; appenders and the sequencer wait on the
    chain lock, and the projector on its own (it must not fold a forged row the test removes)."""
    # ALTER TABLE outside the locks: an appender holding the table while it waits for the
    # chain lock would be a deadlock.
    for table, trigger in triggers:
        await db.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
    await db.execute(
        "SELECT pg_advisory_lock($1), pg_advisory_lock($2)", CHAIN_LOCK, PROJECTOR_LOCK
    )
    try:
        yield db
    finally:
        await db.execute(
            "SELECT pg_advisory_unlock($1), pg_advisory_unlock($2)", CHAIN_LOCK, PROJECTOR_LOCK
        )
        for table, trigger in triggers:
            await db.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")


async def integrity(stack: Stack, http: httpx.AsyncClient, who: Any) -> dict[str, Any]:
    """GET /integrity as `who` (an account with the right to run it)."""
    resp = await http.get(f"{stack.url('audit')}/integrity", headers=who.headers)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())
