"""Folding stored events into the projections, live and by replay: the only writer of them.

The projector reads the store by position, apart from ingestion, and records its own position
in the transaction of the projection rows it writes.

Each part (history, actors, alerts, and the gaps of audit.gaps) loads what it needs, decides
purely in audit.core, and writes its rows."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from audit.core.bounds import QuietActors
from audit.core.models import RuleSettings, StoredEvent
from audit.gaps import service as gaps
from audit.ingest.service import append_audit
from audit.projections import actors, alerts, history
from audit.projections.models import PROJECTION_TABLES, ProjectionPosition
from audit.store.models import Event
from audit.store.service import head, stored_from_row
from audit.tables import driver, table_of
from common.db import utcnow
from common.events import EventDraft

EVENT = table_of(Event)
POSITION = table_of(ProjectionPosition)
NAME = "projections"
PROJECTOR_LOCK = zlib.crc32(b"audit-projector")
NEXT_SQL = (
    "SELECT position, recorded_at, body FROM event WHERE position > $1 ORDER BY position LIMIT $2"
)


async def fold(
    session: AsyncSession,
    stored: Sequence[StoredEvent],
    rules: RuleSettings,
    quiet: QuietActors | None = None,
) -> list[EventDraft]:
    """Apply events (in position order) to every projection; returns audit events to append.

    `quiet`: the busy actors known to stay under the mass-access thresholds, kept by a live
    projector across the batches it folds."""
    if not stored:
        return []
    if quiet is not None:
        quiet.start_batch(stored)
    drafts: list[EventDraft] = []
    stats = await gaps.load_stats(session, {s.event.source for s in stored})
    windows = await alerts.Windows.load(session, stored, rules, quiet)
    fills: list[StoredEvent] = []
    opened: list[dict[str, Any]] = []
    for item in stored:
        if gaps.count_in_sequence(item, stats, opened):
            fills.append(item)
        if item.event.source == "audit":
            # A gap_detected event reads the gap's state: the fills before it must be applied.
            await gaps.insert_gaps(session, opened)
            await gaps.apply_fills(session, fills)
            fills = []
            await alerts.apply_audit_event(session, item, stats)
            drafts += await alerts.raise_audit_alerts(session, item)
            continue
        drafts += await alerts.raise_for(session, item, windows, rules)
    await gaps.insert_gaps(session, opened)
    await gaps.apply_fills(session, fills)
    await history.apply(session, stored)
    await actors.apply(session, stored)
    await gaps.save_stats(session, stats)
    return drafts


async def projected(session: AsyncSession) -> int:
    """The store position the projections have folded up to."""
    value = (
        await session.execute(select(POSITION.c.position).where(POSITION.c.name == NAME))
    ).scalar_one_or_none()
    return int(value or 0)


async def save_projected(session: AsyncSession, position: int) -> None:
    """Move the projections' position (in the transaction of the rows folded up to it)."""
    stmt = pg_insert(POSITION).values(name=NAME, position=position, updated_at=utcnow())
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[POSITION.c.name],
            set_={"position": stmt.excluded.position, "updated_at": stmt.excluded.updated_at},
        )
    )


async def project(
    session: AsyncSession,
    rules: RuleSettings,
    limit: int = 2000,
    known: dict[int, StoredEvent] | None = None,
    quiet: QuietActors | None = None,
) -> int:
    """Fold the next stored events after the projections' position; returns how many.

    One projector at a time (another one finds the lock taken and returns 0). The alerts the
    events raise are appended last, under the chain lock, and folded in a later round.
    `known`: events this process has just appended, by position, so they are not parsed again."""
    taken = (
        await session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": PROJECTOR_LOCK})
    ).scalar_one()
    if not taken:
        return 0
    last = await projected(session)
    # On the session's asyncpg connection: a batch of 5,000 bodies through SQLAlchemy's
    # result processing cost more CPU than reading them.
    rows = await (await driver(session)).fetch(NEXT_SQL, last, limit)
    if not rows:
        return 0
    cache = known if known is not None else {}
    stored = [cache.pop(r[0]) if r[0] in cache else stored_from_row(*r) for r in rows]
    drafts = await fold(session, stored, rules, quiet)
    await save_projected(session, rows[-1][0])
    await append_audit(session, drafts)
    return len(rows)


async def rebuild(session: AsyncSession, rules: RuleSettings, chunk: int = 5000) -> int:
    """Empty the projections and replay the store up to its head; returns events replayed.

    Holding the projector lock keeps the live projector out; appenders go on, and what they
    append after the head taken here is folded by the projector afterwards."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PROJECTOR_LOCK})
    await session.execute(text(f"TRUNCATE {', '.join(PROJECTION_TABLES)}"))
    upto, _ = await head(session)
    last = 0
    total = 0
    while last < upto:
        rows = (
            await session.execute(
                select(EVENT.c.position, EVENT.c.recorded_at, EVENT.c.body)
                .where(EVENT.c.position > last, EVENT.c.position <= upto)
                .order_by(EVENT.c.position)
                .limit(chunk)
            )
        ).all()
        if not rows:
            break
        stored = [stored_from_row(r.position, r.recorded_at, r.body) for r in rows]
        await fold(session, stored, rules)
        last = rows[-1].position
        total += len(rows)
    await save_projected(session, upto)
    return total
