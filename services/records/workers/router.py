"""Files: create, search, read (administrative part or whole record), update, care team."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy.ext.asyncio import AsyncSession

from common.db import SessionDep
from common.errors import not_found
from common.rights import Scope
from common.tokens import CurrentUser
from records.access.events import FileAccess, FileContext, TracedFile
from records.validation import NO_NUL
from records.workers import service
from records.workers.schemas import (
    CareTeamRead,
    CareTeamUpdate,
    ExposureCreate,
    ExposureRead,
    RecordRead,
    WorkerCreate,
    WorkerDirectoryPage,
    WorkerDirectoryRead,
    WorkerPage,
    WorkerRead,
    WorkerUpdate,
)

router = APIRouter(tags=["workers"])

FileCreation = FileAccess("create", part="administrative", by="files")
Search = FileAccess("search", part="search", by="files", medical=False)
AdministrativeReading = FileAccess("read", part="administrative", medical=False)
AdministrativeUpdating = FileAccess("update", part="administrative", lock=True)
CareTeamUpdating = FileAccess("update", part="care_team", lock=True)
ExposureCreation = FileAccess("create", part="exposure", resource_type="exposure")
RecordReading = FileAccess("read", part="record", load=False)
OwnRecordReading = FileAccess("read", part="record", by="own", load=False)


@router.post("/workers", status_code=status.HTTP_201_CREATED, summary="Open a new file")
async def create_worker(
    body: WorkerCreate,
    principal: CurrentUser,
    session: SessionDep,
    file: Annotated[TracedFile, FileCreation],
) -> WorkerRead:
    """Create a worker's file (traced as a create on the administrative part)."""
    worker, long = await service.create_worker(session, body, principal)
    file.opened(FileContext(str(worker.id), worker.employer, principal.user_id in body.care_team))
    return WorkerRead.model_validate(service.worker_view(worker, long))


@router.get("/workers", summary="Search files (one traced access per worker found)")
async def search_workers(
    principal: CurrentUser,
    session: SessionDep,
    file: Annotated[TracedFile, Search],
    q: Annotated[str | None, Query(max_length=100, pattern=NO_NUL)] = None,
    employer: Annotated[str | None, Query(max_length=200, pattern=NO_NUL)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> WorkerPage | WorkerDirectoryPage:
    """Find workers by name prefix and employer (administrative staff: directory entries)."""
    access = file.access
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
        directory=access.administrative_only,
    )
    file.listed([FileContext(str(w.id), w.employer, care) for w, care, _ in found])
    if access.administrative_only:
        items = [service.directory_entry(w, due) for w, _, due in found]
        return WorkerDirectoryPage.model_validate(
            {"items": items, "limit": limit, "offset": offset}
        )
    return WorkerPage.model_validate(
        {"items": [w.model_dump() for w, _, _ in found], "limit": limit, "offset": offset}
    )


@router.get("/workers/{worker_id}", summary="The administrative part of a file")
async def read_worker(
    worker_id: uuid.UUID, session: SessionDep, file: Annotated[TracedFile, AdministrativeReading]
) -> WorkerRead | WorkerDirectoryRead:
    """Identity, employer, employment and retention; administrative staff get the directory
    entry instead (name, birth date, employer, department, next exam due)."""
    if file.access.administrative_only:
        due = await service.next_exam_due(session, worker_id)
        return WorkerDirectoryRead.model_validate(service.directory_entry(file.worker, due))
    return WorkerRead.model_validate(service.worker_view(file.worker, file.long_retention))


@router.patch("/workers/{worker_id}", summary="Update the administrative part (versioned)")
async def update_worker(
    worker_id: uuid.UUID,
    body: WorkerUpdate,
    principal: CurrentUser,
    session: SessionDep,
    file: Annotated[TracedFile, AdministrativeUpdating],
) -> WorkerRead:
    """A new version; 409 when `version` is not the current one."""
    worker = await service.update_worker(session, file.worker, body, principal)
    return WorkerRead.model_validate(service.worker_view(worker, file.long_retention))


@router.put("/workers/{worker_id}/care-team", summary="Set the staff who follow a worker")
async def set_care_team(
    worker_id: uuid.UUID,
    body: CareTeamUpdate,
    principal: CurrentUser,
    session: SessionDep,
    file: Annotated[TracedFile, CareTeamUpdating],
) -> CareTeamRead:
    """Replace the care team."""
    user_ids = await service.set_care_team(session, worker_id, body.user_ids, principal)
    file.touched(care_team=user_ids)
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
    file: Annotated[TracedFile, ExposureCreation],
) -> ExposureRead:
    """Noise, dust, solvents, asbestos...: listed agents lengthen retention to 40 years."""
    exposure = await service.add_exposure(session, worker_id, body, principal)
    file.touched(str(exposure.id))
    return ExposureRead.model_validate(exposure.model_dump())


async def load_visible_record(
    session: AsyncSession, file: TracedFile, worker_id: uuid.UUID
) -> RecordRead:
    """The whole file as the caller may see it; names the file for the event."""
    data = await service.load_record(session, worker_id, file.access.principal.user_id)
    if data is None:
        raise not_found("Worker")
    file.opened(FileContext(str(worker_id), data["worker"]["employer"], bool(data["care"])))
    return RecordRead.model_validate(service.shape_record(data, file.access))


@router.get("/workers/{worker_id}/record", summary="The health file as the caller may see it")
async def read_record(
    worker_id: uuid.UUID, session: SessionDep, file: Annotated[TracedFile, RecordReading]
) -> RecordRead:
    """Exams, fitness decisions, lab results, exposures; sent only once the access is stored."""
    return await load_visible_record(session, file, worker_id)


@router.get("/me/record", summary="A worker's own file (or their ward's)")
async def read_my_record(
    session: SessionDep, file: Annotated[TracedFile, OwnRecordReading]
) -> RecordRead:
    """The caller's own file, without personal notes or third-party data."""
    assert file.worker_id is not None
    return await load_visible_record(session, file, uuid.UUID(file.worker_id))
