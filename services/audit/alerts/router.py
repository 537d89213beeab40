"""Alerts of the monitoring committee: list, the events behind one, and triage (acknowledge,
assign, resolve as justified or abuse; abuse may open an incident in the register)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from sqlalchemy import func, select

from audit.access import Monitor
from audit.alerts import incidents
from audit.alerts.schemas import (
    AlertAcknowledgeCreate,
    AlertAssignCreate,
    AlertEventsRead,
    AlertPage,
    AlertRead,
    AlertResolveCreate,
)
from audit.alerts.service import (
    ALERT,
    acknowledge,
    assign,
    events_of,
    get_alert,
    list_alerts,
    resolve,
)
from audit.history.router import check_period
from common.db import SessionDep
from common.errors import conflict
from common.events import Resource
from common.tokens import bearer_token
from common.trail import TracedEvents

router = APIRouter(tags=["alerts"])


@router.get("/alerts", response_model=AlertPage, summary="Alerts, newest first")
async def alerts(
    session: SessionDep,
    principal: Monitor,
    events: TracedEvents,
    status: Literal["open", "acknowledged", "resolved", "all"] = "all",
    kind: Annotated[str | None, Query(max_length=32)] = None,
    severity: Annotated[str | None, Query(max_length=16)] = None,
    worker_id: Annotated[str | None, Query(max_length=64)] = None,
    actor_user_id: Annotated[str | None, Query(max_length=64)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AlertPage:
    """What the monitoring committee must look at."""
    check_period(since, until)  # timezones required, since before until
    page = await list_alerts(
        session,
        status=status,
        kind=kind,
        severity=severity,
        worker_id=worker_id,
        actor_user_id=actor_user_id,
        since=since,
        until=until,
        limit=limit,
        cursor=cursor,
    )
    await events.emit(
        events.draft(
            "read_alerts",
            worker_id=worker_id,
            resource=Resource(type="alerts", part=kind),
            details={"entries": len(page.items), "status": status},
        )
    )
    return page


class AlertMarker(BaseModel):
    """The newest alert's id and time, and how many alerts are open: what a desk polls to know
    when to fetch (no summary, actor or worker: nothing of the trail itself)."""

    newest_id: uuid.UUID | None
    newest_raised_at: datetime | None
    open: int


@router.get("/alerts/latest", response_model=AlertMarker, summary="The newest alert's marker")
async def alerts_latest(session: SessionDep, principal: Monitor) -> AlertMarker:
    """Cheap to poll every second (the desk's live inbox); the alerts themselves are read,
    and traced, through GET /alerts."""
    newest = (
        await session.execute(
            select(ALERT.c.id, ALERT.c.raised_at)
            .order_by(ALERT.c.raised_at.desc(), ALERT.c.id.desc())
            .limit(1)
        )
    ).first()
    count = (
        await session.execute(
            select(func.count()).select_from(ALERT).where(ALERT.c.resolved_at.is_(None))
        )
    ).scalar_one()
    return AlertMarker(
        newest_id=newest.id if newest else None,
        newest_raised_at=newest.raised_at if newest else None,
        open=int(count),
    )


@router.get(
    "/alerts/{alert_id}/events",
    response_model=AlertEventsRead,
    summary="The events behind an alert, oldest first",
)
async def alert_events(
    session: SessionDep, principal: Monitor, events: TracedEvents, alert_id: uuid.UUID
) -> AlertEventsRead:
    """Every event the alert counts (an aggregated alert has several)."""
    alert = await get_alert(session, alert_id)
    found = await events_of(session, alert_id)
    await events.emit(
        events.draft(
            "read_alert_events",
            worker_id=alert.worker_id,
            resource=Resource(type="alert", id=str(alert_id), part=alert.kind),
            details={"entries": len(found)},
        )
    )
    return AlertEventsRead(alert_id=alert_id, events=found)


@router.post(
    "/alerts/{alert_id}/acknowledge", response_model=AlertRead, summary="Acknowledge an alert"
)
async def acknowledge_alert(
    session: SessionDep,
    principal: Monitor,
    events: TracedEvents,
    alert_id: uuid.UUID,
    body: AlertAcknowledgeCreate,
) -> AlertRead:
    """Record who looked at the alert and what they concluded (409 when already done)."""
    return await acknowledge(session, events, alert_id, body.comment)


@router.post("/alerts/{alert_id}/assign", response_model=AlertRead, summary="Assign an alert")
async def assign_alert(
    session: SessionDep,
    principal: Monitor,
    events: TracedEvents,
    alert_id: uuid.UUID,
    body: AlertAssignCreate,
) -> AlertRead:
    """Name who looks into the alert (409 once resolved); traced as alert_assigned."""
    return await assign(session, events, alert_id, body.assignee, body.comment)


@router.post("/alerts/{alert_id}/resolve", response_model=AlertRead, summary="Resolve an alert")
async def resolve_alert(
    request: Request,
    session: SessionDep,
    principal: Monitor,
    events: TracedEvents,
    alert_id: uuid.UUID,
    body: AlertResolveCreate,
) -> AlertRead:
    """Justified or abuse, with a comment (409 when resolved already). Abuse with
    `open_incident` files an incident in the register first (signed intake, the caller's
    token): register down, 503 and nothing resolved."""
    incident_id = None
    if body.open_incident:
        if body.resolution != "abuse":
            raise conflict("Only an alert resolved as abuse opens an incident")
        alert = await get_alert(session, alert_id)
        if alert.resolution is not None:
            raise conflict("Alert already resolved", resolved_by=alert.resolved_by)
        incident_id = await incidents.open_incident(
            request.app.state.http,
            request.app.state.settings,
            bearer_token(request),
            alert,
            body.comment,
            principal.display_name,
        )
    return await resolve(session, events, alert_id, body.resolution, body.comment, incident_id)
