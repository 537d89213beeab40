"""Files: create, search, read (administrative part or whole record), update, care team."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from sqlalchemy.ext.asyncio import AsyncSession

from common.db import SessionDep
from common.errors import not_found
from common.rights import Right, Scope
from common.tokens import CurrentUser, Principal
from records.access.events import FileContext, access_event, trace
from records.access.service import AccessDenied, authorize
from records.validation import NO_NUL
from records.workers import service
from records.workers.schemas import (
    CareTeamRead,
    CareTeamUpdate,
    ExposureCreate,
    ExposureRead,
    RecordRead,
    WorkerCreate,
    WorkerPage,
    WorkerRead,
    WorkerUpdate,
)

router = APIRouter(tags=["workers"])
WorkerId = Annotated[uuid.UUID, "the worker's file id"]


@router.post("/workers", status_code=status.HTTP_201_CREATED, summary="Open a new file")
async def create_worker(
    body: WorkerCreate, principal: CurrentUser, session: SessionDep, request: Request
) -> WorkerRead:
    """Create a worker's file (traced as a create on the administrative part)."""
    access = authorize(principal, "create", worker_id=None, part="administrative")
    worker, long = await service.create_worker(session, body, principal)
    file = FileContext(str(worker.id), worker.employer, principal.user_id in body.care_team)
    event = access_event(request, access, action="create", file=file, part="administrative")
    await trace(session, request, [event], read=False)
    return WorkerRead.model_validate(service.worker_view(worker, long))


@router.get("/workers", summary="Search files (one traced access per worker found)")
async def search_workers(
    principal: CurrentUser,
    session: SessionDep,
    request: Request,
    q: Annotated[str | None, Query(max_length=100, pattern=NO_NUL)] = None,
    employer: Annotated[str | None, Query(max_length=200, pattern=NO_NUL)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> WorkerPage:
    """Find workers by name prefix and employer."""
    access = authorize(principal, "search", worker_id=None, part="search", medical=False)
    only = None
    if access.scope is Scope.GRANT and access.grant and access.grant.worker_id:
        only = access.grant.worker_id
    found = await service.search_workers(
        session,
        q=q,
        employer=employer,
        only=only,
        limit=limit,
        offset=offset,
        user_id=principal.user_id,
    )
    events = [
        access_event(
            request,
            access,
            action="search",
            file=FileContext(str(w.id), w.employer, care),
            part="search",
        )
        for w, care in found
    ] or [access_event(request, access, action="search", file=None, part="search")]
    await trace(session, request, events, read=True)
    return WorkerPage(
        items=[w.model_dump() for w, _ in found],  # type: ignore[misc]
        limit=limit,
        offset=offset,
    )


@router.get("/workers/{worker_id}", summary="The administrative part of a file")
async def read_worker(
    worker_id: uuid.UUID, principal: CurrentUser, session: SessionDep, request: Request
) -> WorkerRead:
    """Identity, employer, employment and retention (administrative staff see only this)."""
    file = await service.open_file(
        session, principal, "read", worker_id, part="administrative", medical=False
    )
    event = access_event(
        request, file.access, action="read", file=file.context, part="administrative"
    )
    await trace(session, request, [event], read=True)
    return WorkerRead.model_validate(service.worker_view(file.worker, file.long_retention))


@router.patch("/workers/{worker_id}", summary="Update the administrative part (versioned)")
async def update_worker(
    worker_id: uuid.UUID,
    body: WorkerUpdate,
    principal: CurrentUser,
    session: SessionDep,
    request: Request,
) -> WorkerRead:
    """A new version; 409 when `version` is not the current one."""
    file = await service.open_file(
        session, principal, "update", worker_id, part="administrative", lock=True
    )
    worker = await service.update_worker(session, file, body, principal)
    event = access_event(
        request, file.access, action="update", file=file.context, part="administrative"
    )
    await trace(session, request, [event], read=False)
    return WorkerRead.model_validate(service.worker_view(worker, file.long_retention))


@router.put("/workers/{worker_id}/care-team", summary="Set the staff who follow a worker")
async def set_care_team(
    worker_id: uuid.UUID,
    body: CareTeamUpdate,
    principal: CurrentUser,
    session: SessionDep,
    request: Request,
) -> CareTeamRead:
    """Replace the care team."""
    file = await service.open_file(
        session, principal, "update", worker_id, part="care_team", lock=True
    )
    user_ids = await service.set_care_team(session, worker_id, body.user_ids, principal)
    event = access_event(
        request,
        file.access,
        action="update",
        file=file.context,
        part="care_team",
        extra={"care_team": user_ids},
    )
    await trace(session, request, [event], read=False)
    return CareTeamRead(worker_id=worker_id, user_ids=user_ids)


@router.post(
    "/workers/{worker_id}/exposures",
    status_code=status.HTTP_201_CREATED,
    summary="Record an exposure",
)
async def add_exposure(
    worker_id: uuid.UUID,
    body: ExposureCreate,
    principal: CurrentUser,
    session: SessionDep,
    request: Request,
) -> ExposureRead:
    """Noise, dust, solvents, asbestos...: listed agents lengthen retention to 40 years."""
    file = await service.open_file(session, principal, "create", worker_id, part="exposure")
    exposure = await service.add_exposure(session, worker_id, body, principal)
    event = access_event(
        request,
        file.access,
        action="create",
        file=file.context,
        part="exposure",
        resource_type="exposure",
        resource_id=str(exposure.id),
    )
    await trace(session, request, [event], read=False)
    return ExposureRead.model_validate(exposure.model_dump())


async def _read_record(
    worker_id: uuid.UUID, principal: Principal, session: AsyncSession, request: Request
) -> dict[str, Any]:
    access = authorize(principal, "read", worker_id=str(worker_id), part="record")
    data = await service.load_record(session, worker_id, principal.user_id)
    if data is None:
        raise not_found("Worker")
    file = FileContext(str(worker_id), data["worker"]["employer"], bool(data["care"]))
    event = access_event(request, access, action="read", file=file, part="record")
    await trace(session, request, [event], read=True)
    return service.shape_record(data, access)


@router.get("/workers/{worker_id}/record", summary="The health file as the caller may see it")
async def read_record(
    worker_id: uuid.UUID, principal: CurrentUser, session: SessionDep, request: Request
) -> RecordRead:
    """Exams, fitness decisions, lab results, exposures; sent only once the access is stored."""
    return await _read_record(worker_id, principal, session, request)  # type: ignore[return-value]


@router.get("/me/record", summary="A worker's own file (or their ward's)")
async def read_my_record(
    principal: CurrentUser,
    session: SessionDep,
    request: Request,
    worker_id: Annotated[
        uuid.UUID | None, Query(description="a ward's file, for a guardian")
    ] = None,
) -> RecordRead:
    """The caller's own file, without personal notes or third-party data."""
    own = principal.own_worker_ids()
    if not own:
        raise AccessDenied(
            principal,
            Right.READ,
            action="read",
            worker_id=None,
            resource={"type": "worker", "id": None, "part": "record"},
            detail="No worker file is attached to this account",
        )
    try:
        chosen = worker_id or uuid.UUID(own[0])
    except ValueError:
        raise not_found("Worker") from None
    return await _read_record(chosen, principal, session, request)  # type: ignore[return-value]
