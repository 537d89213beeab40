"""From broker messages (or the service's own traces) to the store and its projections."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from audit.core.models import RuleSettings, StoredEvent
from audit.ingest.models import ConsumerPosition, PendingEvent, Quarantine
from audit.ingest.signatures import SourceKeys
from audit.projections.service import Draft, fold
from audit.store.service import Incoming, append, lock_chain, next_seq
from common.db import utcnow
from common.events import TOPIC_BY_SOURCE, AccessEvent, format_time
from common.telemetry import current_trace_id
from common.tokens import Principal


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


def parse(message: Message, keys: SourceKeys) -> Incoming | Poison:
    """An envelope to append, or the reason the message is poison (or forged)."""
    if message.value is None:
        return Poison(message, "empty message")
    try:
        document = json.loads(message.value)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return Poison(message, f"invalid JSON: {exc}")
    if not isinstance(document, dict):
        return Poison(message, "invalid envelope: not a JSON object")
    try:
        event = AccessEvent.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'envelope'}: {e['msg']}"
            for e in exc.errors()[:5]
        )
        return Poison(message, f"not an access-event/1: {problems}")
    expected = TOPIC_BY_SOURCE.get(event.source)
    if expected != message.topic:
        # The audit's own source never comes from the broker: that would be a forgery.
        return Poison(
            message,
            f"forged: source {event.source!r} does not publish on {message.topic!r}",
            forged=True,
            source=event.source,
        )
    reason, kid = keys.problem(event.source, message.value, message.headers)
    if reason:
        return Poison(message, f"forged: {reason}", forged=True, source=event.source, kid=kid)
    return Incoming(event, message.topic, message.partition, message.offset, message)


async def ingest(
    session: AsyncSession,
    incoming: Sequence[Incoming],
    rules: RuleSettings,
    refused: list[tuple[Incoming, str]] | None = None,
) -> list[StoredEvent]:
    """Append, fold, and append the alerts they raise (themselves events); no commit here.

    Envelopes whose (source, source_seq) the store holds under another event_id are not
    appended: they go to `refused` with the reason."""
    stored = await append(session, incoming, refused)
    drafts = await fold(session, stored, rules)
    if drafts:
        stored += await append_audit(session, drafts, rules)
    return stored


async def append_audit(
    session: AsyncSession, drafts: Sequence[Draft], rules: RuleSettings
) -> list[StoredEvent]:
    """Append the audit service's own events (source "audit") and fold them."""
    await lock_chain(session)
    seq = await next_seq(session, "audit")
    now = utcnow()
    events = []
    for i, draft in enumerate(drafts):
        events.append(
            Incoming(
                AccessEvent.model_validate(
                    {
                        "event_id": draft["event_id"],
                        "occurred_at": draft.get("occurred_at") or now,
                        "source": "audit",
                        "source_seq": seq + i,
                        "outcome": draft.get("outcome", "success"),
                        "purpose": draft.get("purpose"),
                        "client": draft.get("client") or {},
                        "trace_id": draft.get("trace_id"),
                        **{
                            k: draft.get(k)
                            for k in ("actor", "action", "worker_id", "resource", "details")
                        },
                    }
                )
            )
        )
    stored = await append(session, events)
    more = await fold(session, stored, rules)
    if more:
        stored += await append_audit(session, more, rules)
    return stored


def actor_of(principal: Principal) -> dict[str, str]:
    """The envelope's actor for a verified caller."""
    return {
        "user_id": principal.user_id,
        "username": principal.username,
        "display_name": principal.display_name,
        "profile": principal.profile.value,
    }


async def record_audit(session: AsyncSession, *, principal: Principal, **fields: Any) -> Draft:
    """Trace something a caller did here: durable with the request, chained by the consumer."""
    event_id = uuid.uuid4()
    draft = {
        "event_id": str(event_id),
        "occurred_at": format_time(utcnow()),
        "actor": actor_of(principal),
        "trace_id": current_trace_id(),
        **fields,
    }
    table = PendingEvent.__table__  # type: ignore[attr-defined]
    await session.execute(insert(table).values(event_id=event_id, draft=draft, created_at=utcnow()))
    return draft


async def drain_pending(session: AsyncSession, rules: RuleSettings, limit: int = 500) -> int:
    """Chain the audit service's own pending events; returns how many were moved."""
    table = PendingEvent.__table__  # type: ignore[attr-defined]
    rows = (
        await session.execute(
            select(table.c.id, table.c.draft)
            .order_by(table.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    if not rows:
        return 0
    await append_audit(session, [r.draft for r in rows], rules)
    await session.execute(delete(table).where(table.c.id.in_([r.id for r in rows])))
    return len(rows)


async def save_positions(session: AsyncSession, positions: dict[tuple[str, int], int]) -> None:
    """Record the next offset per partition in the batch's transaction."""
    if not positions:
        return
    table = ConsumerPosition.__table__  # type: ignore[attr-defined]
    now = utcnow()
    stmt = pg_insert(table).values(
        [
            {"topic": t, "partition": p, "next_offset": o, "updated_at": now}
            for (t, p), o in positions.items()
        ]
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[table.c.topic, table.c.partition],
            set_={"next_offset": stmt.excluded.next_offset, "updated_at": now},
        )
    )


async def quarantine(session: AsyncSession, poison: Sequence[Poison]) -> None:
    """Keep refused messages with their reason (once per topic, partition, offset)."""
    if not poison:
        return
    table = Quarantine.__table__  # type: ignore[attr-defined]
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
    await session.execute(pg_insert(table).values(rows).on_conflict_do_nothing())
