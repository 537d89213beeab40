"""Folding stored events into the projections, live and by replay."""

from __future__ import annotations

import uuid
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from audit.core.folding import actor_delta, history_entry
from audit.core.models import ActorWindow, RuleSettings, StoredEvent, derived_id
from audit.core.rules import (
    SEVERITY,
    alerts_for,
    audit_alerts_for,
    gap_step,
    is_staff_access,
    needs_window,
)
from audit.projections.models import (
    PROJECTION_TABLES,
    AccessEntry,
    ActorActivity,
    Alert,
    Gap,
    SourceStat,
)
from audit.store.models import Event
from audit.store.service import lock_chain, stored_from_row

EVENT = Event.__table__  # type: ignore[attr-defined]
ALERT = Alert.__table__  # type: ignore[attr-defined]
GAP = Gap.__table__  # type: ignore[attr-defined]
Draft = dict[str, Any]


async def fold(
    session: AsyncSession, stored: Sequence[StoredEvent], rules: RuleSettings
) -> list[Draft]:
    """Apply events (in position order) to every projection; returns audit events to append."""
    if not stored:
        return []
    drafts: list[Draft] = []
    sources = await _load_sources(session, {s.event.source for s in stored})
    windows = await Windows.load(session, stored, rules)
    history: list[dict[str, Any]] = []
    actors: dict[str, dict[str, Any]] = {}
    fills: list[StoredEvent] = []
    for item in stored:
        event = item.event
        if await _fold_sequence(session, item, sources):
            fills.append(item)
        entry = history_entry(item)
        if entry is not None:
            history.append(entry)
        delta = actor_delta(item)
        if delta is not None:
            _merge_actor(actors, delta)
        if event.source == "audit":
            # A gap_detected event reads the gap's state: the fills before it must be applied.
            await _apply_fills(session, fills)
            fills = []
            await _fold_audit_event(session, item, sources)
            for alert in audit_alerts_for(event):
                drafts.append(
                    await _raise_alert(session, item, alert.kind, alert.severity, alert.summary)
                )
            continue
        window = await windows.window(session, item) if needs_window(event) else ActorWindow()
        for draft in alerts_for(event, window, rules):
            drafts.append(
                await _raise_alert(session, item, draft.kind, draft.severity, draft.summary)
            )
            windows.note_alert(item, draft.kind)
    await _apply_fills(session, fills)
    if history:
        await session.execute(insert(AccessEntry.__table__), history)  # type: ignore[attr-defined]
    await _upsert_actors(session, actors)
    await _upsert_sources(session, sources)
    return drafts


async def _load_sources(session: AsyncSession, names: set[str]) -> dict[str, dict[str, Any]]:
    rows = await session.execute(select(SourceStat).where(SourceStat.source.in_(names)))  # type: ignore[attr-defined]
    return {
        r.source: {
            "source": r.source,
            "events": r.events,
            "max_seq": r.max_seq,
            "last_occurred_at": r.last_occurred_at,
            "last_recorded_at": r.last_recorded_at,
        }
        for r in rows.scalars()
    }


async def _fold_sequence(
    session: AsyncSession, item: StoredEvent, sources: dict[str, dict[str, Any]]
) -> bool:
    """Count the event in its source's sequence; True when it fills an earlier hole."""
    event = item.event
    stat = sources.setdefault(
        event.source,
        {
            "source": event.source,
            "events": 0,
            "max_seq": 0,
            "last_occurred_at": event.occurred_at,
            "last_recorded_at": item.recorded_at,
        },
    )
    stat["events"] += 1
    stat["last_occurred_at"] = max(stat["last_occurred_at"], event.occurred_at)
    stat["last_recorded_at"] = max(stat["last_recorded_at"], item.recorded_at)
    change = gap_step(stat["max_seq"], event.source_seq)
    stat["max_seq"] = change.new_max
    if change.opened is not None:
        first, last = change.opened
        await session.execute(
            pg_insert(GAP)
            .values(
                id=derived_id("gap", event.source, first, last),
                source=event.source,
                from_seq=first,
                to_seq=last,
                missing=last - first + 1,
                opened_at=item.recorded_at,
            )
            .on_conflict_do_nothing()
        )
    return change.fills


async def _apply_fills(session: AsyncSession, fills: list[StoredEvent]) -> None:
    """Count late arrivals against the open gaps they fall in; close the gaps they complete."""
    # Gaps never overlap and a new event fills one number once (duplicates are dropped on
    # event_id before folding), so a countdown per gap replaces counting its range. Partitions
    # interleave one source's numbers all the time: this runs once per batch, not per event.
    if not fills:
        return
    by_source: dict[str, list[StoredEvent]] = {}
    for item in fills:
        by_source.setdefault(item.event.source, []).append(item)
    seqs: dict[str, list[int]] = {}
    open_gaps = []
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
    for gap in open_gaps:
        items, numbers = by_source[gap.source], seqs[gap.source]
        hits = items[bisect_left(numbers, gap.from_seq) : bisect_right(numbers, gap.to_seq)]
        if not hits:
            continue
        missing = gap.missing - len(hits)
        if missing > 0:
            await session.execute(update(GAP).where(GAP.c.id == gap.id).values(missing=missing))
            continue
        done = max(hits, key=lambda i: i.position).recorded_at
        await session.execute(
            update(GAP).where(GAP.c.id == gap.id).values(missing=0, resolved_at=done)
        )
        await session.execute(
            update(ALERT)
            .where(ALERT.c.gap_id == gap.id, ALERT.c.resolved_at.is_(None))
            .values(resolved_at=done)
        )


def _merge_actor(actors: dict[str, dict[str, Any]], delta: dict[str, Any]) -> None:
    known = actors.get(delta["user_id"])
    if known is None:
        actors[delta["user_id"]] = dict(delta)
        return
    for name in ("events", "denied", "file_accesses"):
        known[name] += delta[name]
    for name in ("username", "display_name", "profile"):
        known[name] = delta[name]
    known["first_at"] = min(known["first_at"], delta["first_at"])
    known["last_at"] = max(known["last_at"], delta["last_at"])


async def _upsert_actors(session: AsyncSession, actors: dict[str, dict[str, Any]]) -> None:
    if not actors:
        return
    table = ActorActivity.__table__  # type: ignore[attr-defined]
    stmt = pg_insert(table).values(list(actors.values()))
    ex = stmt.excluded
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[table.c.user_id],
            set_={
                "username": ex.username,
                "display_name": ex.display_name,
                "profile": ex.profile,
                "events": table.c.events + ex.events,
                "denied": table.c.denied + ex.denied,
                "file_accesses": table.c.file_accesses + ex.file_accesses,
                "first_at": func.least(table.c.first_at, ex.first_at),
                "last_at": func.greatest(table.c.last_at, ex.last_at),
            },
        )
    )


async def _upsert_sources(session: AsyncSession, sources: dict[str, dict[str, Any]]) -> None:
    table = SourceStat.__table__  # type: ignore[attr-defined]
    for stat in sources.values():
        stmt = pg_insert(table).values(stat)
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=[table.c.source],
                set_={k: stmt.excluded[k] for k in stat if k != "source"},
            )
        )


WINDOWED = ("mass_access", "repeated_denials")
ALERTED_SQL = text(
    "SELECT actor_user_id, kind, max(occurred_at) AS last FROM alert "
    "WHERE actor_user_id = ANY(:actors) AND kind = ANY(:kinds) AND occurred_at > :since "
    "AND position < :before GROUP BY actor_user_id, kind"
)
# Per actor, staff file accesses in the batch's span, counted only up to the threshold + 1.
BUSY_SQL = text(
    "SELECT a.actor, (SELECT count(*) FROM (SELECT 1 FROM event e "
    "  WHERE e.actor_user_id = a.actor AND e.occurred_at > :since AND e.occurred_at <= :until "
    "  AND e.outcome = 'success' AND e.source IN ('records', 'register') "
    "  AND e.worker_id IS NOT NULL AND e.position <= :upto LIMIT :cap) s) AS n "
    "FROM unnest(CAST(:actors AS text[])) AS a(actor)"
)


class Windows:
    """What the windowed rules need to know of each actor's past, for one batch of events."""

    def __init__(self, rules: RuleSettings) -> None:
        self.rules = rules
        self.last_alert: dict[tuple[str, str], datetime] = {}
        self.quiet: set[str] = set()

    @classmethod
    async def load(
        cls, session: AsyncSession, stored: Sequence[StoredEvent], rules: RuleSettings
    ) -> Windows:
        """Two queries for the whole batch: the actors' recent windowed alerts, and which
        actors did too little in the batch's span to cross the mass-access threshold."""
        windows = cls(rules)
        items = [i for i in stored if i.event.source != "audit" and needs_window(i.event)]
        if not items:
            return windows
        actors = sorted({i.event.actor.user_id for i in items if i.event.actor})
        first = min(i.event.occurred_at for i in items)
        last = max(i.event.occurred_at for i in items)
        longest = max(rules.mass_access_minutes, rules.denial_minutes)
        rows = await session.execute(
            ALERTED_SQL,
            {
                "actors": actors,
                "kinds": list(WINDOWED),
                "since": first - timedelta(minutes=longest),
                "before": min(i.position for i in items),
            },
        )
        windows.last_alert = {(r.actor_user_id, r.kind): r.last for r in rows}
        busy = await session.execute(
            BUSY_SQL,
            {
                "actors": actors,
                "since": first - timedelta(minutes=rules.mass_access_minutes),
                "until": last,
                "upto": max(i.position for i in items),
                "cap": rules.mass_access_workers + 1,
            },
        )
        windows.quiet = {r.actor for r in busy if r.n <= rules.mass_access_workers}
        return windows

    def note_alert(self, item: StoredEvent, kind: str) -> None:
        """An alert raised in this batch counts for the actor's later events."""
        actor = item.event.actor
        if kind in WINDOWED and actor is not None:
            key = (actor.user_id, kind)
            known = self.last_alert.get(key)
            if known is None or item.event.occurred_at > known:
                self.last_alert[key] = item.event.occurred_at

    def _alerted(self, actor: str, kind: str, since: datetime) -> bool:
        last = self.last_alert.get((actor, kind))
        return last is not None and last > since

    async def window(self, session: AsyncSession, item: StoredEvent) -> ActorWindow:
        """What the actor did before this event (earlier positions), for the windowed rules."""
        event = item.event
        assert event.actor is not None
        actor = event.actor.user_id
        rules = self.rules
        distinct = denials = 0
        mass_alerted = denials_alerted = False
        if is_staff_access(event) and event.outcome == "success":
            since = event.occurred_at - timedelta(minutes=rules.mass_access_minutes)
            mass_alerted = self._alerted(actor, "mass_access", since)
            if not mass_alerted and actor not in self.quiet:
                distinct = await _count_before(
                    session, item, since, rules.mass_access_workers + 1, EVENT.c.worker_id,
                    EVENT.c.outcome == "success",
                    EVENT.c.source.in_(("records", "register")),
                    EVENT.c.worker_id.is_not(None),
                )  # fmt: skip
        if event.outcome == "denied":
            since = event.occurred_at - timedelta(minutes=rules.denial_minutes)
            denials_alerted = self._alerted(actor, "repeated_denials", since)
            if not denials_alerted:
                denials = await _count_before(
                    session, item, since, rules.denial_count, EVENT.c.position,
                    EVENT.c.outcome == "denied",
                )  # fmt: skip
        return ActorWindow(distinct, denials, mass_alerted, denials_alerted)


async def _count_before(
    session: AsyncSession,
    item: StoredEvent,
    since: datetime,
    cap: int,
    column: Any,
    *where: Any,
) -> int:
    """Distinct `column` values of the actor's events in (since, the event], up to `cap`."""
    # Counting stops at the cap: a rule only needs to know its threshold was crossed, and a
    # mass reader's window grows with every read.
    assert item.event.actor is not None
    values = (
        select(column)
        .where(
            EVENT.c.actor_user_id == item.event.actor.user_id,
            EVENT.c.position <= item.position,
            EVENT.c.occurred_at > since,
            EVENT.c.occurred_at <= item.event.occurred_at,
            *where,
        )
        .distinct()
        .limit(cap)
        .subquery()
    )
    return int((await session.execute(select(func.count()).select_from(values))).scalar_one())


async def _raise_alert(
    session: AsyncSession,
    item: StoredEvent,
    kind: str,
    severity: str,
    summary: str,
    gap_id: uuid.UUID | None = None,
) -> Draft:
    event = item.event
    alert_id = derived_id("alert", kind, gap_id or event.event_id)
    actor = event.actor if event.source != "audit" else None
    await session.execute(
        pg_insert(ALERT)
        .values(
            id=alert_id,
            kind=kind,
            severity=severity,
            summary=summary,
            position=item.position,
            event_id=event.event_id,
            occurred_at=event.occurred_at,
            raised_at=item.recorded_at,
            worker_id=event.worker_id,
            actor_user_id=actor.user_id if actor else None,
            actor_name=actor.display_name if actor else None,
            actor_profile=actor.profile if actor else None,
            gap_id=gap_id,
        )
        .on_conflict_do_nothing()
    )
    return {
        "event_id": derived_id("alert-raised", alert_id),
        "action": "alert_raised",
        "actor": None,
        "worker_id": event.worker_id,
        "resource": {"type": "alert", "id": str(alert_id), "part": kind},
        "details": {
            "alert_id": str(alert_id),
            "kind": kind,
            "severity": severity,
            "summary": summary,
            "cause_event_id": str(event.event_id),
        },
    }


async def _fold_audit_event(
    session: AsyncSession, item: StoredEvent, sources: dict[str, dict[str, Any]]
) -> None:
    event = item.event
    details = event.details or {}
    if event.action == "alert_acknowledged" and event.actor is not None:
        await session.execute(
            update(ALERT)
            .where(ALERT.c.id == uuid.UUID(str(details["alert_id"])))
            .where(ALERT.c.acknowledged_at.is_(None))
            .values(
                acknowledged_at=event.occurred_at,
                acknowledged_by=event.actor.display_name,
                comment=details.get("comment"),
            )
        )
    elif event.action == "gap_detected":
        gap_id = uuid.UUID(str(details["gap_id"]))
        if details.get("tail"):
            await _open_tail_gap(session, item, sources, gap_id, details)
        gap = (await session.execute(select(GAP).where(GAP.c.id == gap_id))).first()
        if gap is None:
            return
        summary = f"events {gap.from_seq}..{gap.to_seq} of {gap.source} are missing"
        await _raise_alert(session, item, "gap", SEVERITY["gap"], summary, gap_id=gap_id)
        alert_id = derived_id("alert", "gap", gap_id)
        await session.execute(update(GAP).where(GAP.c.id == gap_id).values(alert_id=alert_id))
        if gap.resolved_at is not None:
            await session.execute(
                update(ALERT).where(ALERT.c.id == alert_id).values(resolved_at=gap.resolved_at)
            )


async def _open_tail_gap(
    session: AsyncSession,
    item: StoredEvent,
    sources: dict[str, dict[str, Any]],
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
    if source not in sources:
        sources.update(await _load_sources(session, {source}))
    stat = sources.setdefault(
        source,
        {
            "source": source,
            "events": 0,
            "max_seq": 0,
            "last_occurred_at": item.event.occurred_at,
            "last_recorded_at": item.recorded_at,
        },
    )
    # Later arrivals in the range now count as fills of this gap.
    stat["max_seq"] = max(stat["max_seq"], last)


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
