"""/incidents: incidents and personal-data breaches, opened by hand or from an audit alert."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from common.db import SessionDep, utcnow
from common.trail import EventContext
from register.access import RegisterReader, RegisterWriter
from register.deps import SettingsDep
from register.incidents import service
from register.incidents.schemas import (
    IncidentCreate,
    IncidentRead,
    IncidentStatus,
    IncidentUpdate,
    NotificationCreate,
)

router = APIRouter(prefix="/incidents", tags=["incidents"])


@router.get("", summary="The incident and breach register")
async def list_incidents(
    session: SessionDep,
    auth: RegisterReader,
    settings: SettingsDep,
    breach: bool | None = None,
    status: IncidentStatus | None = None,
) -> list[IncidentRead]:
    """Most recent awareness first."""
    now = utcnow()
    rows = await service.listing(session, breach=breach, status=status)
    return [service.to_read(i, settings.audit_url, now) for i in rows]


@router.post("", status_code=201, summary="Record an incident or a breach")
async def create_incident(
    body: IncidentCreate,
    session: SessionDep,
    events: EventContext,
    auth: RegisterWriter,
    settings: SettingsDep,
) -> IncidentRead:
    """With alert_id, the incident links back to the audit alert it was opened from."""
    incident = await service.create(session, events, auth.principal, body)
    return service.to_read(incident, settings.audit_url, utcnow())


@router.get("/notification-overdue", summary="Breaches past 72 hours and not notified")
async def notification_overdue(
    session: SessionDep, auth: RegisterReader, settings: SettingsDep
) -> list[IncidentRead]:
    """Oldest awareness first."""
    now = utcnow()
    rows = await service.notification_overdue(session, now)
    return [service.to_read(i, settings.audit_url, now) for i in rows]


@router.get("/{incident_id}", summary="One incident")
async def read_incident(
    incident_id: uuid.UUID, session: SessionDep, auth: RegisterReader, settings: SettingsDep
) -> IncidentRead:
    """With its notification deadline and state."""
    return service.to_read(await service.get(session, incident_id), settings.audit_url, utcnow())


@router.patch("/{incident_id}", summary="Change an incident")
async def update_incident(
    incident_id: uuid.UUID,
    body: IncidentUpdate,
    session: SessionDep,
    events: EventContext,
    auth: RegisterWriter,
    settings: SettingsDep,
) -> IncidentRead:
    """From `version`; 409 when stale."""
    incident = await service.update(session, events, auth.principal, incident_id, body)
    return service.to_read(incident, settings.audit_url, utcnow())


@router.post("/{incident_id}/notification", summary="Record the notification to the authority")
async def notify_breach(
    incident_id: uuid.UUID,
    body: NotificationCreate,
    session: SessionDep,
    events: EventContext,
    auth: RegisterWriter,
    settings: SettingsDep,
) -> IncidentRead:
    """422 when past 72 hours after awareness without the reasons for the delay."""
    incident = await service.notify(session, events, auth.principal, incident_id, body)
    return service.to_read(incident, settings.audit_url, utcnow())
