"""From broker messages (or the service's own traces) to the store and its projections."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from audit.core.models import RuleSettings, StoredEvent, derived_id
from audit.core.trail import log_reset
from audit.ingest.models import ConsumerPosition, LogReset, Quarantine
from audit.ingest.signatures import SourceKeys
from audit.store.service import Incoming, append, lock_chain, next_seq
from audit.tables import table_of
from audit.trail import PENDING, draft_of
from common.db import utcnow
from common.events import TOPIC_BY_SOURCE, AccessEvent, EventDraft, format_time


@dataclass(frozen=True)
class Message:
    """A broker record, reduced to what the consumer needs."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True)
class Poison:
    """A message refused, with the reason; forged when it claims a source it cannot prove."""

    message: Message
    reason: str
    forged: bool = False
    source: str | None = None
    kid: str | None = None


def _refusal(message: Message) -> AccessEvent | Poison:
    """Why a value is no access-event/1, in the words of each step (JSON, object, fields)."""
    assert message.value is not None
    try:
        document = json.loads(message.value)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return Poison(message, f"invalid JSON: {exc}")
    if not isinstance(document, dict):
        return Poison(message, "invalid envelope: not a JSON object")
    try:
        return AccessEvent.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'envelope'}: {e['msg']}"
            for e in exc.errors()[:5]
        )
        return Poison(message, f"not an access-event/1: {problems}")


def read_envelope(message: Message) -> AccessEvent | Poison:
    """The envelope a message holds, on the topic of its source; its signature not checked."""
    if message.value is None:
        return Poison(message, "empty message")
    try:
        # One pass in pydantic-core for the envelopes that are fine (nearly all of them).
        event = AccessEvent.model_validate_json(message.value)
    except ValidationError:
        refused = _refusal(message)
        if isinstance(refused, Poison):
            return refused
        event = refused
    expected = TOPIC_BY_SOURCE.get(event.source)
    if expected != message.topic:
        # The audit's own source never comes from the broker: that would be a forgery.
        return Poison(
            message,
            f"forged: source {event.source!r} does not publish on {message.topic!r}",
            forged=True,
            source=event.source,
        )
    return event


def checked(
    message: Message, event: AccessEvent | Poison, verdict: tuple[str, str | None]
) -> Incoming | Poison:
    """An envelope to append, or a forgery, given its signature's verdict."""
    if isinstance(event, Poison):
        return event
    reason, kid = verdict
    if reason:
        return Poison(message, f"forged: {reason}", forged=True, source=event.source, kid=kid)
    return Incoming(event, message.topic, message.partition, message.offset, message)


def parse(message: Message, keys: SourceKeys) -> Incoming | Poison:
    """An envelope to append, or the reason the message is poison (or forged)."""
    event = read_envelope(message)
    if isinstance(event, Poison):
        return event
    verdict = keys.problem(event.source, message.value or b"", message.headers)
    return checked(message, event, verdict)


async def parse_batch(
    messages: Sequence[Message], keys: SourceKeys, pool: Executor | None = None, chunks: int = 2
) -> list[Incoming | Poison]:
    """parse() for a batch, the signatures checked in `pool`'s threads.

    libsodium releases the GIL, and a verify costs more than the rest of an event's parsing."""
    events = [read_envelope(m) for m in messages]
    todo = [(m, e) for m, e in zip(messages, events, strict=True) if not isinstance(e, Poison)]

    def verify(part: Sequence[tuple[Message, AccessEvent]]) -> list[tuple[str, str | None]]:
        return [keys.problem(e.source, m.value or b"", m.headers) for m, e in part]

    if pool is None or len(todo) < 64:
        verdicts = verify(todo)
    else:
        size = -(-len(todo) // chunks)
        loop = asyncio.get_running_loop()
        parts = await asyncio.gather(
            *(
                loop.run_in_executor(pool, verify, todo[i : i + size])
                for i in range(0, len(todo), size)
            )
        )
        verdicts = [v for part in parts for v in part]
    found = iter(verdicts)
    return [
        e if isinstance(e, Poison) else checked(m, e, next(found))
        for m, e in zip(messages, events, strict=True)
    ]


async def append_audit(
    session: AsyncSession, drafts: Sequence[EventDraft], rules: RuleSettings | None = None
) -> list[StoredEvent]:
    """Number the audit service's own drafts (source "audit") and append them; the projector
    folds them like any event. Holds the chain lock to the commit: call it last."""
    if not drafts:
        return []
    await lock_chain(session)
    seq = await next_seq(session, "audit")
    events = [Incoming(draft.sequenced(seq + i)) for i, draft in enumerate(drafts)]
    return await append(session, events)


async def drain_pending(session: AsyncSession, rules: RuleSettings, limit: int = 500) -> int:
    """Chain the audit service's own pending events; returns how many were moved."""
    rows = (
        await session.execute(
            select(PENDING.c.id, PENDING.c.draft)
            .order_by(PENDING.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    if not rows:
        return 0
    await session.execute(delete(PENDING).where(PENDING.c.id.in_([r.id for r in rows])))
    await append_audit(session, [draft_of(r.draft) for r in rows], rules)
    return len(rows)


async def save_positions(
    session: AsyncSession, positions: dict[tuple[str, int], tuple[int, str | None]]
) -> None:
    """Record the next offset per partition (and the fingerprint of the message before it)
    in the batch's transaction."""
    if not positions:
        return
    table = table_of(ConsumerPosition)
    now = utcnow()
    stmt = pg_insert(table)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[table.c.topic, table.c.partition],
            set_={
                "next_offset": stmt.excluded.next_offset,
                "fingerprint": stmt.excluded.fingerprint,
                "updated_at": stmt.excluded.updated_at,
            },
        ),
        [
            {"topic": t, "partition": p, "next_offset": o, "fingerprint": f, "updated_at": now}
            for (t, p), (o, f) in positions.items()
        ],
    )


async def quarantine(session: AsyncSession, poison: Sequence[Poison]) -> None:
    """Keep refused messages with their reason (once per topic, partition, offset)."""
    if not poison:
        return
    table = table_of(Quarantine)
    now = utcnow()
    rows = [
        {
            "topic": p.message.topic,
            "partition": p.message.partition,
            "offset": p.message.offset,
            "key": p.message.key.decode("utf-8", "replace") if p.message.key else None,
            "value": p.message.value,
            "reason": p.reason[:2000],
            "received_at": now,
        }
        for p in poison
    ]
    # One cached statement for many rows (a multi-row VALUES is compiled anew every time).
    await session.execute(pg_insert(table).on_conflict_do_nothing(), rows)


async def record_resets(
    session: AsyncSession, resets: Sequence[dict[str, Any]], rules: RuleSettings
) -> None:
    """Keep the detected log resets, move their positions back, and trace them (an alert)."""
    if not resets:
        return
    now = utcnow()
    await session.execute(insert(table_of(LogReset)), [{**r, "detected_at": now} for r in resets])
    await save_positions(
        session, {(r["topic"], r["partition"]): (r["earliest_offset"], None) for r in resets}
    )
    reset_id = derived_id("log-reset", format_time(now), len(resets))
    await append_audit(session, [log_reset(reset_id, list(resets), at=now)], rules)
