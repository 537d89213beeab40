"""Listing and acknowledging alerts (an acknowledgement is an event too)."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from audit.alerts.schemas import AlertPage, AlertRead
from audit.projections import alerts as projector
from audit.projections.models import Alert
from audit.tables import table_of
from common.errors import conflict, invalid, not_found
from common.events import Resource
from common.trail import RequestEvents

ALERT = table_of(Alert)


def status_of(alert: Alert) -> str:
    """open, acknowledged, or resolved (a gap whose events arrived)."""
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
) -> AlertPage:
    """Alerts newest first, filtered."""
    query = select(Alert)
    if status == "open":
        query = query.where(ALERT.c.acknowledged_at.is_(None), ALERT.c.resolved_at.is_(None))
    elif status == "acknowledged":
        query = query.where(ALERT.c.acknowledged_at.is_not(None))
    elif status == "resolved":
        query = query.where(ALERT.c.resolved_at.is_not(None), ALERT.c.acknowledged_at.is_(None))
    if kind:
        query = query.where(ALERT.c.kind == kind)
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
