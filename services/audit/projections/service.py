"""Folding stored events into the projections, live and by replay: the only writer of them.

Each part (history, actors, alerts, and the gaps of audit.gaps) loads what it needs, decides
purely in audit.core, and writes its rows."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from audit.core.models import RuleSettings, StoredEvent
from audit.gaps import service as gaps
from audit.projections import actors, alerts, history
from audit.projections.models import PROJECTION_TABLES
from audit.store.models import Event
from audit.store.service import lock_chain, stored_from_row
from audit.tables import table_of
from common.events import EventDraft

EVENT = table_of(Event)


async def fold(
    session: AsyncSession, stored: Sequence[StoredEvent], rules: RuleSettings
) -> list[EventDraft]:
    """Apply events (in position order) to every projection; returns audit events to append."""
    if not stored:
        return []
    drafts: list[EventDraft] = []
    stats = await gaps.load_stats(session, {s.event.source for s in stored})
    windows = await alerts.Windows.load(session, stored, rules)
    fills: list[StoredEvent] = []
    for item in stored:
        if await gaps.count_in_sequence(session, item, stats):
            fills.append(item)
        if item.event.source == "audit":
            # A gap_detected event reads the gap's state: the fills before it must be applied.
            await gaps.apply_fills(session, fills)
            fills = []
            await alerts.apply_audit_event(session, item, stats)
            drafts += await alerts.raise_audit_alerts(session, item)
            continue
        drafts += await alerts.raise_for(session, item, windows, rules)
    await gaps.apply_fills(session, fills)
    await history.apply(session, stored)
    await actors.apply(session, stored)
    await gaps.save_stats(session, stats)
    return drafts


async def rebuild(session: AsyncSession, rules: RuleSettings, chunk: int = 5000) -> int:
    """Empty the projections and replay the whole store into them; returns events replayed."""
    # Holding the chain lock keeps appenders out, so the replay sees a fixed store.
    await lock_chain(session)
    await session.execute(text(f"TRUNCATE {', '.join(PROJECTION_TABLES)}"))
    last = 0
    total = 0
    while True:
        rows = (
            await session.execute(
                select(EVENT.c.position, EVENT.c.recorded_at, EVENT.c.body)
                .where(EVENT.c.position > last)
                .order_by(EVENT.c.position)
                .limit(chunk)
            )
        ).all()
        if not rows:
            return total
        stored = [stored_from_row(r.position, r.recorded_at, r.body) for r in rows]
        await fold(session, stored, rules)
        last = rows[-1].position
        total += len(rows)
