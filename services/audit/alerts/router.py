"""GET /alerts and POST /alerts/{alert_id}/acknowledge (monitoring committee)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from audit.access import Monitor
from audit.alerts.schemas import AlertAcknowledgeCreate, AlertPage, AlertRead
from audit.alerts.service import acknowledge, list_alerts
from common.db import SessionDep
from common.events import Resource
from common.trail import TracedEvents

router = APIRouter(tags=["alerts"])


@router.get("/alerts", response_model=AlertPage, summary="Alerts, newest first")
async def alerts(
    session: SessionDep,
    principal: Monitor,
    events: TracedEvents,
    status: Literal["open", "acknowledged", "resolved", "all"] = "all",
    kind: Annotated[str | None, Query(max_length=32)] = None,
    worker_id: Annotated[str | None, Query(max_length=64)] = None,
    actor_user_id: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AlertPage:
    """What the monitoring committee must look at."""
    page = await list_alerts(
        session,
        status=status,
        kind=kind,
        worker_id=worker_id,
        actor_user_id=actor_user_id,
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
