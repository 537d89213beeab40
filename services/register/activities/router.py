"""/processing-activities: the Art. 30 register, versioned, with a review-overdue list."""

from __future__ import annotations

import uuid
from datetime import date

from fastapi import APIRouter, Path

from common.db import SessionDep
from common.trail import EventContext
from register.access import RegisterReader, RegisterWriter
from register.activities import service
from register.activities.schemas import (
    ProcessingActivityCreate,
    ProcessingActivityRead,
    ProcessingActivityUpdate,
    ProcessingActivityVersionRead,
)
from register.deps import SettingsDep

router = APIRouter(
    prefix="/processing-activities",
    tags=["processing activities"],
)


@router.get("", summary="The register of processing activities")
async def list_activities(
    session: SessionDep, auth: RegisterReader, settings: SettingsDep, active: bool | None = None
) -> list[ProcessingActivityRead]:
    """Every entry, by name."""
    today = settings.today()
    return [service.to_read(a, today) for a in await service.listing(session, active=active)]


@router.post("", status_code=201, summary="Add a processing activity")
async def create_activity(
    body: ProcessingActivityCreate,
    session: SessionDep,
    events: EventContext,
    auth: RegisterWriter,
    settings: SettingsDep,
) -> ProcessingActivityRead:
    """Version 1 of a new entry."""
    activity = await service.create(session, events, auth.principal, body)
    return service.to_read(activity, settings.today())


@router.get("/review-overdue", summary="Entries whose review date has passed")
async def review_overdue(
    session: SessionDep, auth: RegisterReader, settings: SettingsDep, as_of: date | None = None
) -> list[ProcessingActivityRead]:
    """Active entries due for review before as_of (today by default)."""
    day = as_of or settings.today()
    return [service.to_read(a, day) for a in await service.review_overdue(session, day)]


@router.get("/{activity_id}", summary="One processing activity")
async def read_activity(
    activity_id: uuid.UUID, session: SessionDep, auth: RegisterReader, settings: SettingsDep
) -> ProcessingActivityRead:
    """The current version."""
    return service.to_read(await service.get(session, activity_id), settings.today())


@router.patch("/{activity_id}", summary="Change a processing activity (new version)")
async def update_activity(
    activity_id: uuid.UUID,
    body: ProcessingActivityUpdate,
    session: SessionDep,
    events: EventContext,
    auth: RegisterWriter,
    settings: SettingsDep,
) -> ProcessingActivityRead:
    """A new version; 409 when `version` is not the current one."""
    activity = await service.update(session, events, auth.principal, activity_id, body)
    return service.to_read(activity, settings.today())


@router.get("/{activity_id}/versions", summary="Every version of a processing activity")
async def list_versions(
    activity_id: uuid.UUID, session: SessionDep, auth: RegisterReader
) -> list[ProcessingActivityVersionRead]:
    """Oldest first: who changed what, when, and the full content then."""
    rows = await service.versions(session, activity_id)
    return [ProcessingActivityVersionRead.model_validate(r, from_attributes=True) for r in rows]


@router.get("/{activity_id}/versions/{number}", summary="One earlier version")
async def read_version(
    activity_id: uuid.UUID,
    session: SessionDep,
    auth: RegisterReader,
    number: int = Path(ge=1, le=1_000_000),
) -> ProcessingActivityVersionRead:
    """The entry as it was at that version."""
    row = await service.version(session, activity_id, number)
    return ProcessingActivityVersionRead.model_validate(row, from_attributes=True)
