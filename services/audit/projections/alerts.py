"""The alert projection: rules raise alerts, audit events acknowledge them (the only writer)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from audit.core.bounds import OpeningBounds, QuietActors
from audit.core.models import ActorWindow, RuleSettings, StoredEvent, derived_id
from audit.core.rules import (
    SEVERITY,
    alerts_for,
    audit_alerts_for,
    forged_summary,
    is_opening,
    needs_window,
)
from audit.core.trail import alert_raised
from audit.gaps import service as gaps
from audit.projections.models import Alert, AlertEvent
from audit.store.models import Event
from audit.tables import table_of
from common.events import AccessEvent, EventDraft

EVENT = table_of(Event)
ALERT = table_of(Alert)
ALERT_EVENT = table_of(AlertEvent)

WINDOWED = ("mass_access", "repeated_denials")
ALERTED_SQL = text(
    "SELECT a.actor_user_id, a.kind, max(e.occurred_at) AS last FROM alert_event e "
    "JOIN alert a ON a.id = e.alert_id "
    "WHERE a.actor_user_id = ANY(:actors) AND a.kind = ANY(:kinds) AND e.occurred_at > :since "
    "AND e.position < :before GROUP BY a.actor_user_id, a.kind"
)
OPENINGS = ("read", "print", "export")
# Per actor, staff file openings in the batch's span, counted only up to the threshold + 1.
BUSY_SQL = text(
    "SELECT a.actor, (SELECT count(*) FROM (SELECT 1 FROM event e "
    "  WHERE e.actor_user_id = a.actor AND e.occurred_at > :since AND e.occurred_at <= :until "
    "  AND e.outcome = 'success' AND e.source IN ('records', 'register') "
    "  AND e.action IN ('read', 'print', 'export') "
    "  AND e.worker_id IS NOT NULL AND e.position <= :upto LIMIT :cap) s) AS n "
    "FROM unnest(CAST(:actors AS text[])) AS a(actor)"
)
# Per busy actor, the distinct files it opened after the batch's window starts, at positions up
# to the batch's last (all, and without a care relationship), capped: an actor under both
# thresholds there is under them in every event's window (each lies inside), so the per-event
# count runs only for the others. No upper time bound: the sets are kept (QuietActors) for
# later windows, which may hold events stored here that occurred after this batch's last.
CROSSING_SQL = text(
    "SELECT a.actor, "
    " ARRAY(SELECT DISTINCT e.worker_id FROM event e "
    "   WHERE e.actor_user_id = a.actor AND e.occurred_at > :since "
    "   AND e.position <= :upto AND e.outcome = 'success' AND e.source IN ('records', 'register') "
    "   AND e.action IN ('read', 'print', 'export') AND e.worker_id IS NOT NULL "
    "   AND e.body NOT LIKE '%\"seeding\"\\:true%' LIMIT :cap_all) AS opened, "
    " ARRAY(SELECT DISTINCT e.worker_id FROM event e "
    "   WHERE e.actor_user_id = a.actor AND e.occurred_at > :since "
    "   AND e.position <= :upto AND e.outcome = 'success' AND e.source IN ('records', 'register') "
    "   AND e.action IN ('read', 'print', 'export') AND e.worker_id IS NOT NULL "
    "   AND e.body NOT LIKE '%\"seeding\"\\:true%' "
    "   AND e.body NOT LIKE '%\"care_relationship\"\\:true%' LIMIT :cap_outside) AS outside "
    "FROM unnest(CAST(:actors AS text[])) AS a(actor)"
)
# The distinct files an actor opened in a window: all of them, and those opened without a care
# relationship, both capped. The envelope's flags are matched in its canonical JSON text, not
# parsed: parsing every event of the window per event made the consumer the bottleneck. JSON
# escaping keeps free text (a purpose) from spelling `"care_relationship":true` or
# `"seeding":true` (its quotes would be escaped).
OPENED_SQL = text(
    "SELECT count(*) AS opened, count(*) FILTER (WHERE outside) AS outside FROM ("
    "  SELECT e.worker_id, bool_or(e.body NOT LIKE '%\"care_relationship\"\\:true%') AS outside "
    "  FROM event e "
    "  WHERE e.actor_user_id = :actor AND e.position <= :upto AND e.occurred_at > :since "
    "  AND e.occurred_at <= :until AND e.outcome = 'success' "
    "  AND e.source IN ('records', 'register') AND e.action IN ('read', 'print', 'export') "
    "  AND e.worker_id IS NOT NULL "
    "  AND e.body NOT LIKE '%\"seeding\"\\:true%' "
    "  GROUP BY e.worker_id LIMIT :cap) s"
)

# Per actor, how many of its events stored before the batch occurred after its earliest one in
# the batch (OpeningBounds adds them: a window may hold them), counted up to a cap.
LATE_BEFORE_SQL = text(
    "SELECT a.actor, (SELECT count(*) FROM (SELECT 1 FROM event e "
    "  WHERE e.actor_user_id = a.actor AND e.occurred_at > a.since AND e.position < :first "
    "  LIMIT :cap) s) AS n "
    "FROM unnest(CAST(:actors AS text[]), CAST(:since AS timestamptz[])) AS a(actor, since)"
)


class Windows:
    """What the windowed rules need to know of each actor's past, for one batch of events."""

    def __init__(self, rules: RuleSettings) -> None:
        self.rules = rules
        self.last_alert: dict[tuple[str, str], datetime] = {}
        self.quiet: set[str] = set()
        self.bounds: OpeningBounds | None = None

    @classmethod
    async def load(
        cls,
        session: AsyncSession,
        stored: Sequence[StoredEvent],
        rules: RuleSettings,
        known: QuietActors | None = None,
    ) -> Windows:
        """Two queries for the whole batch: the actors' recent windowed alerts, and which
        actors did too little in the batch's span to cross the mass-access threshold.

        `known`: what earlier batches learned of busy actors (QuietActors), asked before the
        counts and told their answers; start_batch() must have seen this batch."""
        windows = cls(rules)
        items = [i for i in stored if i.event.source != "audit" and needs_window(i.event)]
        if not items:
            return windows
        actors = sorted({i.event.actor.user_id for i in items if i.event.actor})
        first = min(i.event.occurred_at for i in items)
        last = max(i.event.occurred_at for i in items)
        longest = max(rules.mass_access_minutes, rules.denial_minutes)
        lowest = min(rules.mass_access_workers, rules.mass_access_care_team_workers)
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
        # An actor mass-alerted after the batch's last event less the window is alerted in
        # every event's window: no count is needed (counting a mass reader was the cost).
        settled = last - timedelta(minutes=rules.mass_access_minutes)
        actors = [a for a in actors if not windows._alerted(a, "mass_access", settled)]
        if not actors:
            return windows
        since = first - timedelta(minutes=rules.mass_access_minutes)
        upto = max(i.position for i in items)
        busy = await session.execute(
            BUSY_SQL,
            {"actors": actors, "since": since, "until": last, "upto": upto, "cap": lowest + 1},
        )
        windows.quiet = {r.actor for r in busy if r.n <= lowest}
        crowded = [a for a in actors if a not in windows.quiet]
        if known is not None:
            limits = (rules.mass_access_workers, rules.mass_access_care_team_workers)
            windows.quiet |= {a for a in crowded if known.quiet(a, since, *limits)}
            crowded = [a for a in crowded if a not in windows.quiet]
        if crowded:
            rows = await session.execute(
                CROSSING_SQL,
                {
                    "actors": crowded,
                    "since": since,
                    "upto": upto,
                    "cap_all": rules.mass_access_care_team_workers + 1,
                    "cap_outside": rules.mass_access_workers + 1,
                },
            )
            for r in rows:
                opened, outside = set(r.opened), set(r.outside)
                if (
                    len(opened) <= rules.mass_access_care_team_workers
                    and len(outside) <= rules.mass_access_workers
                ):
                    windows.quiet.add(r.actor)
                    if known is not None:
                        known.remember(r.actor, since, opened, outside)
            crowded = [a for a in crowded if a not in windows.quiet]
        if crowded:
            earliest: dict[str, datetime] = {}
            for i in stored:
                if i.event.actor is not None and i.event.actor.user_id in crowded:
                    who = i.event.actor.user_id
                    earliest[who] = min(earliest.get(who, i.event.occurred_at), i.event.occurred_at)
            rows = await session.execute(
                LATE_BEFORE_SQL,
                {
                    "actors": list(earliest),
                    "since": list(earliest.values()),
                    "first": min(i.position for i in stored),
                    "cap": lowest + 1,
                },
            )
            # At the cap the count is not known (and the outside bound would exceed it anyway).
            late = {r.actor: int(r.n) for r in rows if r.n <= lowest}
            windows.bounds = OpeningBounds(stored, late)
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
        distinct = outside = denials = 0
        mass_alerted = denials_alerted = False
        if is_opening(event):
            since = event.occurred_at - timedelta(minutes=rules.mass_access_minutes)
            mass_alerted = self._alerted(actor, "mass_access", since)
            bound = self.bounds.bound(item) if self.bounds is not None else None
            if (
                bound is not None
                and bound[0] <= rules.mass_access_care_team_workers
                and bound[1] <= rules.mass_access_workers
            ):
                # Under both thresholds however the window is counted: the rule cannot fire.
                distinct, outside = bound
            elif not mass_alerted and actor not in self.quiet:
                cap = max(rules.mass_access_workers, rules.mass_access_care_team_workers) + 1
                row = (
                    await session.execute(
                        OPENED_SQL,
                        {
                            "actor": actor,
                            "upto": item.position,
                            "since": since,
                            "until": event.occurred_at,
                            "cap": cap,
                        },
                    )
                ).one()
                distinct, outside = int(row.opened), int(row.outside)
                if self.bounds is not None:
                    self.bounds.note_exact(item, distinct, outside)
        if event.outcome == "denied":
            since = event.occurred_at - timedelta(minutes=rules.denial_minutes)
            denials_alerted = self._alerted(actor, "repeated_denials", since)
            if not denials_alerted:
                denials = await _count_before(
                    session, item, since, rules.denial_count, EVENT.c.position,
                    EVENT.c.outcome == "denied",
                )  # fmt: skip
        return ActorWindow(distinct, outside, denials, mass_alerted, denials_alerted)


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


async def raise_for(
    session: AsyncSession, item: StoredEvent, windows: Windows, rules: RuleSettings
) -> list[EventDraft]:
    """The rules' alerts for one event of a publishing source: written, and traced as drafts."""
    event = item.event
    window = await windows.window(session, item) if needs_window(event) else ActorWindow()
    drafts = []
    for alert in alerts_for(event, window, rules):
        draft = await _raise(
            session, item, alert.kind, alert.severity, alert.summary, key=alert.key
        )
        if draft is not None:
            drafts.append(draft)
        windows.note_alert(item, alert.kind)
    return drafts


async def raise_audit_alerts(session: AsyncSession, item: StoredEvent) -> list[EventDraft]:
    """The alerts the audit service's own events raise (a worker contesting an access)."""
    drafts = []
    for a in audit_alerts_for(item.event):
        draft = await _raise(session, item, a.kind, a.severity, a.summary)
        if draft is not None:
            drafts.append(draft)
    return drafts


async def _raise(
    session: AsyncSession,
    item: StoredEvent,
    kind: str,
    severity: str,
    summary: str,
    gap_id: uuid.UUID | None = None,
    key: str | None = None,
) -> EventDraft | None:
    """Insert the alert, or (aggregated rules) count the event on the open alert of the same
    rule, actor and worker (or actor alone); only a new alert is traced as alert_raised."""
    event = item.event
    alert_id = derived_id("alert", kind, gap_id or event.event_id)
    actor = event.actor if event.source != "audit" else None
    if key is not None and actor is not None:
        query = select(ALERT.c.id).where(
            ALERT.c.kind == kind,
            ALERT.c.actor_user_id == actor.user_id,
            ALERT.c.closed_position.is_(None),
        )
        if key == "worker":
            query = query.where(ALERT.c.worker_id.is_not_distinct_from(event.worker_id))
        found = (
            await session.execute(query.order_by(ALERT.c.raised_at).limit(1).with_for_update())
        ).scalar_one_or_none()
        if found is not None and found != alert_id:
            linked = await _link(session, found, item)
            if linked:
                await session.execute(
                    update(ALERT)
                    .where(ALERT.c.id == found)
                    .values(
                        count=ALERT.c.count + 1,
                        last_event_id=event.event_id,
                        last_at=func.greatest(ALERT.c.last_at, event.occurred_at),
                        summary=summary,
                    )
                )
            return None
    await _link(session, alert_id, item)
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
            count=1,
            last_event_id=event.event_id,
            last_at=event.occurred_at,
        )
        .on_conflict_do_nothing()
    )
    return alert_raised(alert_id, kind, severity, summary, event, at=item.recorded_at)


async def _link(session: AsyncSession, alert_id: uuid.UUID, item: StoredEvent) -> bool:
    """Link an event to its alert; False when it was linked already (a replay)."""
    result = await session.execute(
        pg_insert(ALERT_EVENT)
        .values(
            alert_id=alert_id,
            event_id=item.event.event_id,
            position=item.position,
            occurred_at=item.event.occurred_at,
        )
        .on_conflict_do_nothing()
    )
    return bool(getattr(result, "rowcount", 1))


async def acknowledge(session: AsyncSession, event: AccessEvent | EventDraft) -> None:
    """An alert_acknowledged event applied to its alert (once: a replay changes nothing)."""
    details = event.details or {}
    if event.actor is None:
        return
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


async def assign(session: AsyncSession, event: AccessEvent | EventDraft) -> None:
    """An alert_assigned event applied to its alert (the last assignment wins, until resolved)."""
    details = event.details or {}
    if event.actor is None:
        return
    await session.execute(
        update(ALERT)
        .where(ALERT.c.id == uuid.UUID(str(details["alert_id"])))
        .where(ALERT.c.resolution.is_(None))
        .values(
            assigned_to=details.get("assignee"),
            assigned_at=event.occurred_at,
            assigned_by=event.actor.display_name,
        )
    )


async def resolve(
    session: AsyncSession, event: AccessEvent | EventDraft, position: int | None = None
) -> None:
    """An alert_resolved event applied to its alert (once: a replay changes nothing). The
    request applies it at once (its answer and a second attempt see it); the consumer, chaining
    it at `position`, also closes the alert to aggregation from there on."""
    details = event.details or {}
    if event.actor is None:
        return
    incident = details.get("incident_id")
    alert_id = uuid.UUID(str(details["alert_id"]))
    if position is not None:
        await session.execute(
            update(ALERT)
            .where(ALERT.c.id == alert_id, ALERT.c.closed_position.is_(None))
            .values(closed_position=position)
        )
    await session.execute(
        update(ALERT)
        .where(ALERT.c.id == uuid.UUID(str(details["alert_id"])))
        .where(ALERT.c.resolution.is_(None))
        .values(
            resolution=details.get("resolution"),
            resolution_comment=details.get("comment"),
            resolved_by=event.actor.display_name,
            resolved_at=func.coalesce(ALERT.c.resolved_at, event.occurred_at),
            incident_id=uuid.UUID(str(incident)) if incident else None,
        )
    )


async def apply_audit_event(session: AsyncSession, item: StoredEvent, stats: gaps.Stats) -> None:
    """What the audit service's own events do to the alerts (and a tail gap to the gaps)."""
    event = item.event
    details = event.details or {}
    if event.action == "alert_acknowledged":
        await acknowledge(session, event)
    elif event.action == "alert_assigned":
        await assign(session, event)
    elif event.action == "alert_resolved":
        await resolve(session, event, item.position)
    elif event.action == "broker_log_reset":
        parts = details.get("partitions") or []
        topics = ", ".join(sorted({str(p.get("topic")) for p in parts}))
        summary = (
            f"the broker lost its log on {len(parts)} partition(s) of {topics}: read again from "
            "the earliest offsets, the rest comes back from the outboxes"
        )
        await _raise(session, item, "broker_log_reset", SEVERITY["broker_log_reset"], summary)
    elif event.action == "forged_event_detected":
        # Raised from the trace of the refusal (audit.ingest.signatures), so a rebuild has it.
        await _raise(
            session, item, "forged_event", SEVERITY["forged_event"], forged_summary(details)
        )
    elif event.action == "gap_detected":
        gap_id = uuid.UUID(str(details["gap_id"]))
        if details.get("tail"):
            await gaps.open_tail_gap(session, item, stats, gap_id, details)
        gap = await gaps.gap_of(session, gap_id)
        if gap is None:
            return
        summary = f"events {gap.from_seq}..{gap.to_seq} of {gap.source} are missing"
        await _raise(session, item, "gap", SEVERITY["gap"], summary, gap_id=gap_id)
        alert_id = derived_id("alert", "gap", gap_id)
        await gaps.link_alert(session, gap_id, alert_id)
        if gap.resolved_at is not None:
            await session.execute(
                update(ALERT).where(ALERT.c.id == alert_id).values(resolved_at=gap.resolved_at)
            )
