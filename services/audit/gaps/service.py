"""Gaps in the store: opened by the projector as events arrive, filled and closed by late ones."""

from __future__ import annotations

import uuid
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from audit.core.models import StoredEvent, derived_id
from audit.core.rules import gap_step
from audit.gaps.models import OpenGap, SequenceStat
from audit.projections.models import Alert, Gap, SourceStat
from audit.store.models import Event
from audit.tables import table_of

EVENT = table_of(Event)
ALERT = table_of(Alert)
GAP = table_of(Gap)
SOURCE_STAT = table_of(SourceStat)

Stats = dict[str, SequenceStat]


async def load_stats(session: AsyncSession, names: set[str]) -> Stats:
    """The sequence stats of these sources."""
    rows = await session.execute(select(SOURCE_STAT).where(SOURCE_STAT.c.source.in_(names)))
    return {
        r.source: SequenceStat(
            r.source, r.events, r.max_seq, r.last_occurred_at, r.last_recorded_at
        )
        for r in rows
    }


async def store_max(session: AsyncSession) -> dict[str, int]:
    """The highest number the store holds per source."""
    rows = await session.execute(select(SOURCE_STAT.c.source, SOURCE_STAT.c.max_seq))
    return {r.source: r.max_seq for r in rows}


def _stat(stats: Stats, source: str, occurred_at: datetime, recorded_at: datetime) -> SequenceStat:
    stat = stats.get(source)
    if stat is None:
        stat = stats[source] = SequenceStat.empty(source, occurred_at, recorded_at)
    return stat


def count_in_sequence(item: StoredEvent, stats: Stats, opened: list[dict[str, Any]]) -> bool:
    """Count the event in its source's sequence (a hole it reveals goes to `opened`, written
    by insert_gaps); True when it may fill an earlier hole."""
    event = item.event
    stat = _stat(stats, event.source, event.occurred_at, item.recorded_at)
    stat.events += 1
    stat.last_occurred_at = max(stat.last_occurred_at, event.occurred_at)
    stat.last_recorded_at = max(stat.last_recorded_at, item.recorded_at)
    change = gap_step(stat.max_seq, event.source_seq)
    stat.max_seq = change.new_max
    if change.opened is not None:
        first, last = change.opened
        opened.append(
            {
                "id": derived_id("gap", event.source, first, last),
                "source": event.source,
                "from_seq": first,
                "to_seq": last,
                "missing": last - first + 1,
                "opened_at": item.recorded_at,
            }
        )
    return change.fills


async def insert_gaps(session: AsyncSession, opened: list[dict[str, Any]]) -> None:
    """Write the gaps opened so far in a batch, in one statement run for all; empties the list."""
    # Two consumers reading a source's partitions at different speeds open a gap at nearly
    # every event of the faster one: a statement per gap made the projector the bottleneck.
    if opened:
        await session.execute(pg_insert(GAP).on_conflict_do_nothing(), list(opened))
        opened.clear()


async def apply_fills(session: AsyncSession, fills: Sequence[StoredEvent]) -> None:
    """Count late arrivals against the open gaps they fall in; close the gaps they complete."""
    # Gaps never overlap and a new event fills one number once (duplicates are dropped on
    # event_id before folding), so a countdown per gap replaces counting its range. Partitions
    # interleave one source's numbers all the time: this runs once per batch, not per event,
    # and its updates go as one statement run for all the gaps touched.
    if not fills:
        return
    by_source: dict[str, list[StoredEvent]] = {}
    for item in fills:
        by_source.setdefault(item.event.source, []).append(item)
    seqs: dict[str, list[int]] = {}
    open_gaps: list[Any] = []
    for source, items in by_source.items():
        items.sort(key=lambda i: i.event.source_seq)
        seqs[source] = [i.event.source_seq for i in items]
        open_gaps += (
            await session.execute(
                select(GAP.c.id, GAP.c.source, GAP.c.from_seq, GAP.c.to_seq, GAP.c.missing).where(
                    GAP.c.source == source,
                    GAP.c.resolved_at.is_(None),
                    GAP.c.to_seq >= seqs[source][0],
                    GAP.c.from_seq <= seqs[source][-1],
                )
            )
        ).all()
    counted: list[dict[str, Any]] = []
    closed: list[dict[str, Any]] = []
    for gap in open_gaps:
        items, numbers = by_source[gap.source], seqs[gap.source]
        hits = items[bisect_left(numbers, gap.from_seq) : bisect_right(numbers, gap.to_seq)]
        if not hits:
            continue
        missing = gap.missing - len(hits)
        if missing > 0:
            counted.append({"b_gap": gap.id, "b_left": missing})
            continue
        done = max(hits, key=lambda i: i.position).recorded_at
        closed.append({"b_gap": gap.id, "b_done": done})
    if counted:
        await session.execute(
            update(GAP).where(GAP.c.id == bindparam("b_gap")).values(missing=bindparam("b_left")),
            counted,
        )
    if closed:
        await session.execute(
            update(GAP)
            .where(GAP.c.id == bindparam("b_gap"))
            .values(missing=0, resolved_at=bindparam("b_done")),
            closed,
        )
        await session.execute(
            update(ALERT)
            .where(ALERT.c.gap_id == bindparam("b_gap"), ALERT.c.resolved_at.is_(None))
            .values(resolved_at=bindparam("b_done")),
            closed,
        )


async def open_tail_gap(
    session: AsyncSession,
    item: StoredEvent,
    stats: Stats,
    gap_id: uuid.UUID,
    details: dict[str, Any],
) -> None:
    """A hole at the tail, seen from a relay heartbeat: events that never came at all."""
    source, first, last = str(details["source"]), int(details["from_seq"]), int(details["to_seq"])
    # A tail gap is rare: counting what of its range is already stored is affordable here.
    present = (
        await session.execute(
            select(func.count(func.distinct(EVENT.c.source_seq))).where(
                EVENT.c.source == source,
                EVENT.c.source_seq.between(first, last),
                EVENT.c.position <= item.position,
            )
        )
    ).scalar_one()
    missing = last - first + 1 - present
    await session.execute(
        pg_insert(GAP)
        .values(
            id=gap_id,
            source=source,
            from_seq=first,
            to_seq=last,
            missing=missing,
            opened_at=item.recorded_at,
            resolved_at=item.recorded_at if missing <= 0 else None,
        )
        .on_conflict_do_nothing()
    )
    if source not in stats:
        stats.update(await load_stats(session, {source}))
    stat = _stat(stats, source, item.event.occurred_at, item.recorded_at)
    # Later arrivals in the range now count as fills of this gap.
    stat.max_seq = max(stat.max_seq, last)


async def gap_of(session: AsyncSession, gap_id: uuid.UUID) -> Any:
    """One gap row, or None."""
    return (await session.execute(select(GAP).where(GAP.c.id == gap_id))).first()


async def link_alert(session: AsyncSession, gap_id: uuid.UUID, alert_id: uuid.UUID) -> None:
    """The gap's alert, so the resend requests start."""
    await session.execute(update(GAP).where(GAP.c.id == gap_id).values(alert_id=alert_id))


async def save_stats(session: AsyncSession, stats: Stats) -> None:
    """Write the sequence stats of a batch."""
    for stat in stats.values():
        row = stat.row()
        stmt = pg_insert(SOURCE_STAT).values(row)
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=[SOURCE_STAT.c.source],
                set_={k: stmt.excluded[k] for k in row if k != "source"},
            )
        )


async def open_gaps(
    session: AsyncSession, sources: set[str], *, alerted: bool, lock: bool = False
) -> list[OpenGap]:
    """Open gaps of these sources, with or without their alert yet."""
    if not sources:
        return []
    query = select(GAP.c.id, GAP.c.source, GAP.c.from_seq, GAP.c.to_seq, GAP.c.opened_at).where(
        GAP.c.source.in_(sources),
        GAP.c.resolved_at.is_(None),
        GAP.c.alert_id.is_not(None) if alerted else GAP.c.alert_id.is_(None),
    )
    rows = await session.execute(query)
    return [OpenGap(r.id, r.source, r.from_seq, r.to_seq, r.opened_at) for r in rows]


async def open_tails(session: AsyncSession, tails: dict[str, int]) -> set[tuple[str, int]]:
    """Which (source, last_seq) already have an open gap ending there."""
    if not tails:
        return set()
    rows = await session.execute(
        select(GAP.c.source, GAP.c.to_seq).where(
            GAP.c.resolved_at.is_(None),
            GAP.c.source.in_(list(tails)),
            GAP.c.to_seq.in_(list(tails.values())),
        )
    )
    return {(r.source, r.to_seq) for r in rows}
