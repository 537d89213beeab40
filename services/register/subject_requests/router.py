"""/subject-requests: requests of data subjects, their time limits and answers."""

from __future__ import annotations

import base64
import uuid
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from common.db import SessionDep
from common.errors import Problem, invalid, not_found
from common.events import Resource
from common.intake import SIGNATURE_HEADER, verify
from common.rights import Scope
from common.tokens import Authorization, CurrentUser, bearer_token
from common.trail import EventContext, TracedEvents
from register.access import RegisterAccess, RegisterDenied, RegisterWriter
from register.common_schemas import WorkerRef
from register.deps import SettingsDep
from register.subject_requests import service
from register.subject_requests.schemas import (
    AccessHistoryRead,
    ExtensionCreate,
    RectificationDone,
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


def _clicked(request: Request) -> dict[str, Any]:
    return {"settings": request.app.state.settings, "http": request.app.state.http}


@router.post("/{request_id}/file-copy", summary="Attach the worker's file and access history")
async def attach_file_copy(
    request_id: uuid.UUID,
    session: SessionDep,
    events: EventContext,
    auth: RegisterWriter,
    settings: SettingsDep,
    request: Request,
) -> SubjectRequestRead:
    """An access request: the file as the worker may see it (PDF, signed bundle) from records
    and their access history from audit, attached to the answer; 503 and nothing kept when
    either is down."""
    req = await service.produce_file_copy(
        session, events, auth, request_id, **_clicked(request), token=bearer_token(request)
    )
    return service.to_read(req, settings.today())


async def _file_copy(
    session: SessionDep, auth: Authorization, request_id: uuid.UUID, events: TracedEvents, what: str
) -> tuple[dict[str, Any], str]:
    req = await service.get(session, auth, request_id)
    if auth.scope not in (Scope.WRITE, Scope.OWN):
        raise RegisterDenied(
            auth.principal,
            "The worker's copy is for the worker and the security officer",
            resource=Resource(type="subject_request", id=str(request_id), part="file_copy"),
        )
    if req.file_copy is None:
        raise not_found("File copy of this request")
    await events.emit(
        events.draft(
            "export",
            worker_id=req.worker_id,
            resource=Resource(type="subject_request", id=str(req.id), part="file_copy"),
            details={"what": what, "bundle_id": req.file_copy["bundle"].get("bundle_id")},
        ),
        now=True,
    )
    return req.file_copy, req.worker_id


@router.get(
    "/{request_id}/file-copy.pdf",
    summary="The worker's file attached to an access request (PDF)",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The PDF"}},
)
async def file_copy_pdf(
    request_id: uuid.UUID, session: SessionDep, auth: RegisterAccess, events: TracedEvents
) -> Response:
    """Health data leaving the register: traced as an export."""
    copy, worker_id = await _file_copy(session, auth, request_id, events, "pdf")
    return Response(
        base64.b64decode(copy["pdf_base64"]),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="my-health-file-{worker_id}.pdf"'},
    )


@router.get("/{request_id}/file-copy/bundle", summary="The signed export bundle of the answer")
async def file_copy_bundle(
    request_id: uuid.UUID, session: SessionDep, auth: RegisterAccess, events: TracedEvents
) -> JSONResponse:
    """As signed by records (its key at /.well-known/records-signing-key); traced."""
    copy, _ = await _file_copy(session, auth, request_id, events, "bundle")
    return JSONResponse(copy["bundle"])


@router.post("/{request_id}/retention-check", summary="Check an erasure request against retention")
async def retention_check(
    request_id: uuid.UUID,
    session: SessionDep,
    events: EventContext,
    auth: RegisterWriter,
    settings: SettingsDep,
    request: Request,
) -> SubjectRequestRead:
    """Refused with the legal reason (quoted in the refusal) while the file must be kept."""
    req = await service.check_erasure(
        session, events, auth, request_id, **_clicked(request), token=bearer_token(request)
    )
    return service.to_read(req, settings.today())


@router.post("/{request_id}/rectification-task", summary="Send a rectification to the physician")
async def rectification_task(
    request_id: uuid.UUID,
    session: SessionDep,
    events: EventContext,
    auth: RegisterWriter,
    settings: SettingsDep,
    request: Request,
) -> SubjectRequestRead:
    """A task for the worker's physicians in records; the request closes when they correct."""
    req = await service.send_rectification(
        session, events, auth, request_id, **_clicked(request), token=bearer_token(request)
    )
    return service.to_read(req, settings.today())


intake = APIRouter(tags=["subject requests"])


@intake.post(
    "/rectification-intake", summary="Records made a correction (called by records, signed)"
)
async def rectification_done(
    request: Request,
    session: SessionDep,
    events: EventContext,
    principal: CurrentUser,
    settings: SettingsDep,
) -> SubjectRequestRead:
    """The rectification request closes as answered, with the link to the new version."""
    raw = await request.body()
    if not verify(
        settings.contest_secret.get_secret_value(), raw, request.headers.get(SIGNATURE_HEADER)
    ):
        raise Problem(403, "Corrections are reported by the records service (signature missing)")
    try:
        body = RectificationDone.model_validate_json(raw)
    except ValidationError as exc:
        raise invalid(
            "The correction report is malformed",
            [{"field": ".".join(map(str, e["loc"])), "message": e["msg"]} for e in exc.errors()],
        ) from None
    req = await service.close_rectified(session, events, principal, body)
    return service.to_read(req, settings.today())
