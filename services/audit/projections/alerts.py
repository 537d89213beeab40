"""The alert projection: rules raise alerts, audit events acknowledge them (the only writer)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from audit.core.models import ActorWindow, RuleSettings, StoredEvent, derived_id
from audit.core.rules import (
    SEVERITY,
    alerts_for,
    audit_alerts_for,
    forged_summary,
    is_staff_access,
    needs_window,
)
from audit.core.trail import alert_raised
from audit.gaps import service as gaps
from audit.projections.models import Alert
from audit.store.models import Event
from audit.tables import table_of
from common.events import AccessEvent, EventDraft

EVENT = table_of(Event)
ALERT = table_of(Alert)

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


async def raise_for(
    session: AsyncSession, item: StoredEvent, windows: Windows, rules: RuleSettings
) -> list[EventDraft]:
    """The rules' alerts for one event of a publishing source: written, and traced as drafts."""
    event = item.event
    window = await windows.window(session, item) if needs_window(event) else ActorWindow()
    drafts = []
    for alert in alerts_for(event, window, rules):
        drafts.append(await _raise(session, item, alert.kind, alert.severity, alert.summary))
        windows.note_alert(item, alert.kind)
    return drafts


async def raise_audit_alerts(session: AsyncSession, item: StoredEvent) -> list[EventDraft]:
    """The alerts the audit service's own events raise (a worker contesting an access)."""
    return [
        await _raise(session, item, a.kind, a.severity, a.summary)
        for a in audit_alerts_for(item.event)
    ]


async def _raise(
    session: AsyncSession,
    item: StoredEvent,
    kind: str,
    severity: str,
    summary: str,
    gap_id: uuid.UUID | None = None,
) -> EventDraft:
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
    return alert_raised(alert_id, kind, severity, summary, event, at=item.recorded_at)


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


async def apply_audit_event(session: AsyncSession, item: StoredEvent, stats: gaps.Stats) -> None:
    """What the audit service's own events do to the alerts (and a tail gap to the gaps)."""
    event = item.event
    details = event.details or {}
    if event.action == "alert_acknowledged":
        await acknowledge(session, event)
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
