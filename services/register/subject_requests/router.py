"""/subject-requests: requests of data subjects, their time limits and answers."""

from __future__ import annotations

import uuid
from datetime import date

from fastapi import APIRouter, Request

from common.db import SessionDep
from common.errors import not_found
from common.tokens import bearer_token
from common.trail import EventContext
from register.access import RegisterAccess, RegisterWriter
from register.common_schemas import WorkerRef
from register.deps import SettingsDep
from register.subject_requests import service
from register.subject_requests.schemas import (
    AccessHistoryRead,
    ExtensionCreate,
    RequestKind,
    RequestStatus,
    SubjectRequestCreate,
    SubjectRequestRead,
    SubjectRequestUpdate,
)

router = APIRouter(
    prefix="/subject-requests",
    tags=["subject requests"],
)


@router.post("", status_code=201, summary="File a data-subject request")
async def create_request(
    body: SubjectRequestCreate,
    session: SessionDep,
    events: EventContext,
    auth: RegisterAccess,
    settings: SettingsDep,
) -> SubjectRequestRead:
    """Due one month after receipt (the last day of the month when that day does not exist)."""
    today = settings.today()
    return service.to_read(await service.create(session, events, auth, body, today), today)


@router.get("", summary="Data-subject requests")
async def list_requests(
    session: SessionDep,
    auth: RegisterAccess,
    settings: SettingsDep,
    worker_id: WorkerRef | None = None,
    status: RequestStatus | None = None,
    kind: RequestKind | None = None,
) -> list[SubjectRequestRead]:
    """Every request for register staff; a worker's own requests for a worker."""
    rows = await service.listing(session, auth, worker_id=worker_id, status=status, kind=kind)
    today = settings.today()
    return [service.to_read(r, today) for r in rows]


@router.get("/overdue", summary="Open requests past their due date")
async def overdue_requests(
    session: SessionDep, auth: RegisterAccess, settings: SettingsDep, as_of: date | None = None
) -> list[SubjectRequestRead]:
    """Open requests due before as_of (today by default), most overdue first."""
    day = as_of or settings.today()
    return [service.to_read(r, day) for r in await service.overdue(session, auth, day)]


@router.get("/{request_id}", summary="One data-subject request")
async def read_request(
    request_id: uuid.UUID, session: SessionDep, auth: RegisterAccess, settings: SettingsDep
) -> SubjectRequestRead:
    """404 for a request the caller may not see."""
    return service.to_read(await service.get(session, auth, request_id), settings.today())


@router.patch("/{request_id}", summary="Progress, answer or refuse a request")
async def update_request(
    request_id: uuid.UUID,
    body: SubjectRequestUpdate,
    session: SessionDep,
    events: EventContext,
    auth: RegisterWriter,
    settings: SettingsDep,
    request: Request,
) -> SubjectRequestRead:
    """received → in_progress → answered | refused; 409 for any other move."""
    req = await service.update(
        session,
        events,
        auth,
        request_id,
        body,
        settings=settings,
        http=request.app.state.http,
        token=bearer_token(request),
    )
    return service.to_read(req, settings.today())


@router.post("/{request_id}/extension", summary="Extend the time limit by two months, once")
async def extend_request(
    request_id: uuid.UUID,
    body: ExtensionCreate,
    session: SessionDep,
    events: EventContext,
    auth: RegisterWriter,
    settings: SettingsDep,
) -> SubjectRequestRead:
    """Once, with a reason, decided within the first month."""
    today = settings.today()
    return service.to_read(
        await service.extend(session, events, auth, request_id, body, today), today
    )


@router.get("/{request_id}/access-history", summary="The access history attached to the answer")
async def attached_history(
    request_id: uuid.UUID, session: SessionDep, auth: RegisterAccess
) -> AccessHistoryRead:
    """As fetched from the audit service when the request was answered."""
    req = await service.get(session, auth, request_id)
    if req.access_history is None:
        raise not_found("Access history of this request")
    return AccessHistoryRead.model_validate(req.access_history)
