"""/subject-request-intake: the register's signed calls for a worker's data-subject request."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from common.db import SessionDep, utcnow
from common.events import Resource
from common.tokens import CurrentUser
from common.trail import TracedEvents
from records.requests import service
from records.requests.schemas import (
    FileCopyRead,
    RectificationIntake,
    RectificationTaskRead,
    RequestIntake,
    RetentionCheckRead,
)
from records.retention.service import file_retention

router = APIRouter(prefix="/subject-request-intake", tags=["data-subject requests"])


@router.post("/file-copy", summary="The worker's file as they may see it, for an access request")
async def file_copy(
    request: Request, principal: CurrentUser, session: SessionDep, events: TracedEvents
) -> FileCopyRead:
    """PDF and signed bundle without notes or third-party data; a print and an export movement."""
    body = await service.signed(request, request.app.state.settings, RequestIntake)
    wid = str(body.worker_id)
    service.require_officer(principal, wid, "record")
    pdf, bundle, worker = await service.worker_copy(
        session,
        body.worker_id,
        principal,
        request.app.state.bundle_key,
        str(body.subject_request_id),
    )
    purpose = f"data-subject access request {body.subject_request_id}"
    details = {
        "subject_request_id": str(body.subject_request_id),
        "view": "worker",
        "care_relationship": False,
        "worker_employer": worker["employer"],
    }
    await events.emit(
        events.draft(
            "print",
            worker_id=wid,
            resource=Resource(type="worker", id=wid, part="record"),
            purpose=purpose,
            details=details,
        ),
        events.draft(
            "export",
            worker_id=wid,
            resource=Resource(type="worker", id=wid, part="record"),
            purpose=purpose,
            details={**details, "bundle_id": bundle["bundle_id"]},
        ),
    )
    return FileCopyRead(
        subject_request_id=body.subject_request_id,
        worker_id=body.worker_id,
        pdf_base64=service.pdf_text(pdf),
        bundle=bundle,
        produced_at=utcnow(),
    )


@router.post("/retention", summary="May the file be erased now? (an erasure request)")
async def retention_check(
    request: Request, principal: CurrentUser, session: SessionDep, events: TracedEvents
) -> RetentionCheckRead:
    """The term, the holds and the legal reason the answer quotes when erasure is refused."""
    body = await service.signed(request, request.app.state.settings, RequestIntake)
    wid = str(body.worker_id)
    service.require_officer(principal, wid, "retention")
    checked = await file_retention(session, body.worker_id, utcnow().date())
    await events.emit(
        events.draft(
            "read",
            worker_id=wid,
            resource=Resource(type="worker", id=wid, part="retention"),
            purpose=f"data-subject erasure request {body.subject_request_id}",
            details={
                "subject_request_id": str(body.subject_request_id),
                "erasable": checked["erasable"],
            },
        ),
        now=True,
    )
    return RetentionCheckRead.model_validate(checked)


@router.post(
    "/rectification",
    status_code=status.HTTP_201_CREATED,
    summary="Give a rectification request to the file's physicians as a task",
)
async def rectification(
    request: Request,
    response: Response,
    principal: CurrentUser,
    session: SessionDep,
    events: TracedEvents,
) -> RectificationTaskRead:
    """One task per request (a retry answers 200 with the first one)."""
    body = await service.signed(request, request.app.state.settings, RectificationIntake)
    wid = str(body.worker_id)
    service.require_officer(principal, wid, "rectification")
    task, created = await service.open_task(
        session, body.subject_request_id, body.worker_id, body.details, principal
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    await events.emit(
        events.draft(
            "create" if created else "read",
            worker_id=wid,
            resource=Resource(type="rectification_task", id=str(task.id), part="rectification"),
            purpose=f"data-subject rectification request {body.subject_request_id}",
            details={"subject_request_id": str(body.subject_request_id)},
        ),
        now=not created,
    )
    return RectificationTaskRead.model_validate(task.model_dump())
