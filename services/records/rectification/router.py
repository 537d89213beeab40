"""/rectification-tasks: corrections the file's physicians owe to data-subject requests."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Request
from sqlalchemy import exists, select
from sqlmodel import col

from common.db import SessionDep
from common.events import Resource
from common.rights import Profile, Right
from common.tokens import CurrentUser, bearer_token
from records.access.events import FileAccess, FileContext, TracedFile
from records.access.service import AccessDenied
from records.rectification.models import RectificationTask
from records.requests import service
from records.requests.schemas import CorrectionCreate, RectificationTaskRead
from records.workers.models import CareMember, Worker

router = APIRouter(prefix="/rectification-tasks", tags=["data-subject requests"])

TaskListing = FileAccess("search", part="rectification", by="files")
Correcting = FileAccess(
    "update", part="rectification", by=RectificationTask, param="task_id", lock=True
)
PHYSICIANS = (Profile.PHYSICIAN, Profile.MEDICAL_DIRECTOR)


def _physician_of_file(file: TracedFile, task_id: str | None) -> None:
    principal = file.access.principal
    care = bool(file.context and file.context.care_relationship)
    director = principal.profile is Profile.MEDICAL_DIRECTOR
    if not (director or (principal.profile is Profile.PHYSICIAN and care)):
        raise AccessDenied(
            principal,
            Right.MODIFY,
            action=file.action,
            worker_id=file.worker_id,
            resource=Resource(type="rectification_task", id=task_id, part="rectification"),
            detail="A rectification is made by a physician of the worker (or the medical director)",
        )


@router.get("", summary="Open rectification tasks of the caller's files")
async def list_tasks(
    principal: CurrentUser,
    session: SessionDep,
    file: Annotated[TracedFile, TaskListing],
    status: str = "open",
) -> list[RectificationTaskRead]:
    """A physician's tasks are those of the files they follow; the director sees all."""
    if principal.profile not in PHYSICIANS:
        raise AccessDenied(
            principal,
            Right.MODIFY,
            action="search",
            worker_id=None,
            resource=Resource(type="rectification_task", part="rectification"),
            detail="Rectification tasks are for physicians and the medical director",
        )
    care = exists().where(
        col(CareMember.worker_id) == RectificationTask.worker_id,
        col(CareMember.user_id) == principal.user_id,
    )
    query = (
        select(RectificationTask, col(Worker.employer), care.label("care"))
        .join(Worker, col(Worker.id) == RectificationTask.worker_id)
        .where(col(RectificationTask.status) == status[:16])
        .order_by(col(RectificationTask.created_at))
    )
    if principal.profile is Profile.PHYSICIAN:
        query = query.where(care)
    rows = (await session.execute(query.limit(200))).all()
    file.listed([FileContext(str(t.worker_id), employer, bool(c)) for t, employer, c in rows])
    return [RectificationTaskRead.model_validate(t.model_dump()) for t, _, _ in rows]


@router.post("/{task_id}/corrections", summary="Correct the file: a new version naming the request")
async def correct(
    task_id: uuid.UUID,
    body: CorrectionCreate,
    request: Request,
    principal: CurrentUser,
    session: SessionDep,
    file: Annotated[TracedFile, Correcting],
) -> RectificationTaskRead:
    """The exam or decision gets a new version; the register closes the request with its link."""
    _physician_of_file(file, str(task_id))
    task: RectificationTask = file.item
    correction = await service.correct(
        session, task, body.entity, body.entity_id, body.changes, principal
    )
    await service.close_in_register(
        request.app.state.http, request.app.state.settings, bearer_token(request), task
    )
    file.touched(
        str(task.id),
        subject_request_id=str(task.subject_request_id),
        corrected=correction["entity"],
        corrected_id=correction["entity_id"],
        corrected_version=correction["version"],
    )
    return RectificationTaskRead.model_validate(task.model_dump())
