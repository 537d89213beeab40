"""Listing and acknowledging alerts (an acknowledgement is an event too)."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime

from sqlalchemy import select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from audit.alerts.schemas import AlertPage, AlertRead
from audit.projections import alerts as projector
from audit.projections.models import Alert
from audit.tables import table_of
from common.errors import conflict, invalid, not_found
from common.events import EventDraft, Resource
from common.trail import RequestEvents

ALERT = table_of(Alert)


def status_of(alert: Alert) -> str:
    """open, acknowledged, or resolved (triaged as justified or abuse, or a gap whose events
    arrived)."""
    if alert.resolution is not None:
        return "resolved"
    if alert.acknowledged_at is not None:
        return "acknowledged"
    if alert.resolved_at is not None:
        return "resolved"
    return "open"


def alert_read(alert: Alert) -> AlertRead:
    """The API form of an alert."""
    return AlertRead.model_validate(
        {**alert.model_dump(), "status": status_of(alert)}, from_attributes=False
    )


def _cursor(alert: Alert) -> str:
    raw = json.dumps([alert.raised_at.isoformat(), str(alert.id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        when, alert_id = json.loads(raw)
        return datetime.fromisoformat(when), uuid.UUID(alert_id)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise invalid(
            "Invalid cursor", [{"field": "query.cursor", "message": "not a cursor"}]
        ) from exc


async def list_alerts(
    session: AsyncSession,
    *,
    status: str,
    kind: str | None,
    worker_id: str | None,
    actor_user_id: str | None,
    limit: int,
    cursor: str | None,
    severity: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> AlertPage:
    """Alerts newest first, filtered."""
    query = select(Alert)
    if status == "open":
        query = query.where(ALERT.c.acknowledged_at.is_(None), ALERT.c.resolved_at.is_(None))
    elif status == "acknowledged":
        query = query.where(ALERT.c.acknowledged_at.is_not(None), ALERT.c.resolution.is_(None))
    elif status == "resolved":
        query = query.where(
            (ALERT.c.resolution.is_not(None))
            | (ALERT.c.resolved_at.is_not(None) & ALERT.c.acknowledged_at.is_(None))
        )
    if kind:
        query = query.where(ALERT.c.kind == kind)
    if severity:
        query = query.where(ALERT.c.severity == severity)
    if since:
        query = query.where(ALERT.c.raised_at >= since)
    if until:
        query = query.where(ALERT.c.raised_at < until)
    if worker_id:
        query = query.where(ALERT.c.worker_id == worker_id)
    if actor_user_id:
        query = query.where(ALERT.c.actor_user_id == actor_user_id)
    if cursor:
        when, alert_id = _decode(cursor)
        query = query.where(tuple_(ALERT.c.raised_at, ALERT.c.id) < (when, alert_id))
    query = query.order_by(ALERT.c.raised_at.desc(), ALERT.c.id.desc()).limit(limit + 1)
    rows = list((await session.execute(query)).scalars())
    next_cursor = _cursor(rows[limit - 1]) if len(rows) > limit else None
    return AlertPage(items=[alert_read(a) for a in rows[:limit]], next_cursor=next_cursor)


async def _locked(session: AsyncSession, alert_id: uuid.UUID) -> Alert:
    alert = (
        await session.execute(select(Alert).where(ALERT.c.id == alert_id).with_for_update())
    ).scalar_one_or_none()
    if alert is None:
        raise not_found("Alert")
    return alert


def _draft(events: RequestEvents, action: str, alert: Alert, **details: object) -> EventDraft:
    return events.draft(
        action,
        worker_id=alert.worker_id,
        resource=Resource(type="alert", id=str(alert.id), part=alert.kind),
        details={"alert_id": str(alert.id), **details},
    )


async def assign(
    session: AsyncSession,
    events: RequestEvents,
    alert_id: uuid.UUID,
    assignee: str,
    comment: str | None,
) -> AlertRead:
    """Assign an unresolved alert (an alert_assigned event the projector applies)."""
    alert = await _locked(session, alert_id)
    if alert.resolution is not None:
        raise conflict("Alert already resolved", resolved_by=alert.resolved_by)
    draft = _draft(events, "alert_assigned", alert, assignee=assignee, comment=comment)
    await events.emit(draft)
    await projector.assign(session, draft)
    await session.refresh(alert)
    return alert_read(alert)


async def resolve(
    session: AsyncSession,
    events: RequestEvents,
    alert_id: uuid.UUID,
    resolution: str,
    comment: str,
    incident_id: uuid.UUID | None = None,
) -> AlertRead:
    """Resolve an alert as justified or abuse, once (an alert_resolved event)."""
    alert = await _locked(session, alert_id)
    if alert.resolution is not None:
        raise conflict("Alert already resolved", resolved_by=alert.resolved_by)
    draft = _draft(
        events,
        "alert_resolved",
        alert,
        resolution=resolution,
        comment=comment,
        incident_id=str(incident_id) if incident_id else None,
    )
    await events.emit(draft)
    await projector.resolve(session, draft)
    await session.refresh(alert)
    return alert_read(alert)


async def get_alert(session: AsyncSession, alert_id: uuid.UUID) -> Alert:
    """One alert (404 when unknown)."""
    alert = await session.get(Alert, alert_id)
    if alert is None:
        raise not_found("Alert")
    return alert


async def events_of(session: AsyncSession, alert_id: uuid.UUID) -> list[dict[str, object]]:
    """The events behind an alert, oldest first (their envelopes as stored)."""
    rows = (
        await session.execute(
            text(
                "SELECT e.body FROM alert_event l JOIN event e ON e.event_id = l.event_id "
                "WHERE l.alert_id = :alert ORDER BY l.position LIMIT 1000"
            ),
            {"alert": alert_id},
        )
    ).all()
    return [json.loads(r.body) for r in rows]


async def acknowledge(
    session: AsyncSession, events: RequestEvents, alert_id: uuid.UUID, comment: str
) -> AlertRead:
    """Acknowledge an open alert once: the request only emits the event; the projector applies
    it here in the same transaction (so the answer and a second attempt see it), and again,
    changing nothing, when the consumer chains it."""
    alert = (
        await session.execute(select(Alert).where(ALERT.c.id == alert_id).with_for_update())
    ).scalar_one_or_none()
    if alert is None:
        raise not_found("Alert")
    if alert.acknowledged_at is not None:
        raise conflict("Alert already acknowledged", acknowledged_by=alert.acknowledged_by)
    draft = events.draft(
        "alert_acknowledged",
        worker_id=alert.worker_id,
        resource=Resource(type="alert", id=str(alert.id), part=alert.kind),
        details={"alert_id": str(alert.id), "comment": comment},
    )
    await events.emit(draft)
    await projector.acknowledge(session, draft)
    await session.refresh(alert)
    return alert_read(alert)
