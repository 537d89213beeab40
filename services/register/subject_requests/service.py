"""Data-subject requests: filing, the one-month limit, the extension, answers and refusals."""

from __future__ import annotations

import uuid
from datetime import date

import httpx
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from common.db import utcnow
from common.errors import conflict, invalid, not_found
from common.events import Resource
from common.rights import Scope
from common.tokens import Authorization, Principal
from common.trail import RequestEvents
from register import deadlines
from register.access import RegisterDenied
from register.settings import Settings
from register.subject_requests.audit_client import fetch_access_history
from register.subject_requests.models import SubjectRequest
from register.subject_requests.records_client import call_records
from register.subject_requests.schemas import (
    OPEN_STATUSES,
    ExtensionCreate,
    RectificationDone,
    RequestKind,
    RequestStatus,
    SubjectRequestCreate,
    SubjectRequestRead,
    SubjectRequestUpdate,
)

NEW_REQUEST = Resource(type="subject_request", id=None, part="gdpr_register")
NEXT = {
    RequestStatus.RECEIVED: {RequestStatus.IN_PROGRESS},
    RequestStatus.IN_PROGRESS: {RequestStatus.ANSWERED, RequestStatus.REFUSED},
}


def to_read(req: SubjectRequest, today: date) -> SubjectRequestRead:
    """The served form with the computed flags."""
    return SubjectRequestRead.model_validate(
        {
            **{k: getattr(req, k) for k in SubjectRequestRead.model_fields if hasattr(req, k)},
            "extended": req.extended_at is not None,
            "overdue": req.status in OPEN_STATUSES and deadlines.is_overdue(req.due_on, today),
            "access_history_attached": req.access_history is not None,
            "file_copy_attached": req.file_copy is not None,
        }
    )


def _field(name: str, message: str) -> list[dict[str, str]]:
    return [{"field": f"body.{name}", "message": message}]


def worker_for_filing(auth: Authorization, requested: str | None) -> str:
    """Which file a new request concerns; a worker files for their own file only."""
    principal = auth.principal
    if auth.scope is Scope.WRITE:
        if requested is None:
            raise invalid(
                "worker_id is required when the security officer files a request",
                _field("worker_id", "required"),
            )
        return requested
    if auth.scope is not Scope.OWN:
        raise RegisterDenied(
            principal,
            "Requests are filed by the worker concerned or by the security officer",
            resource=NEW_REQUEST,
        )
    own = principal.own_worker_ids()
    if not own:
        raise RegisterDenied(
            principal, "This account is linked to no worker file", resource=NEW_REQUEST
        )
    if requested is None:
        if len(own) > 1:
            raise invalid(
                "worker_id is required: this account acts for several workers",
                _field("worker_id", "required"),
            )
        return own[0]
    if requested not in own:
        raise RegisterDenied(
            principal, "A worker files requests for their own file", resource=NEW_REQUEST
        )
    return requested


def receipt_day(auth: Authorization, received_on: date | None, today: date) -> date:
    """The day of receipt: today for a worker; the DPO may record an earlier receipt."""
    day = received_on or today
    if day > today:
        raise invalid("received_on cannot be in the future", _field("received_on", "future"))
    if day < deadlines.GDPR_APPLICABLE_FROM:
        raise invalid(
            f"received_on is before the GDPR applied ({deadlines.GDPR_APPLICABLE_FROM})",
            _field("received_on", "too early"),
        )
    if auth.scope is Scope.OWN and day != today:
        raise invalid(
            "A request filed by the worker is received today", _field("received_on", "not today")
        )
    return day


async def create(
    session: AsyncSession,
    events: RequestEvents,
    auth: Authorization,
    body: SubjectRequestCreate,
    today: date,
) -> SubjectRequest:
    """File a request; due one month after receipt."""
    worker_id = worker_for_filing(auth, body.worker_id)
    received_on = receipt_day(auth, body.received_on, today)
    due = deadlines.response_due(received_on)
    principal = auth.principal
    req = SubjectRequest(
        worker_id=worker_id,
        kind=body.kind.value,
        received_on=received_on,
        details=body.details,
        due_on=due,
        initial_due_on=due,
        filed_by_profile=principal.profile.value,
        created_by=principal.user_id,
        updated_by=principal.user_id,
    )
    session.add(req)
    await session.flush()
    await events.emit(
        events.draft(
            "subject_request_created",
            resource=Resource(type="subject_request", id=str(req.id)),
            worker_id=worker_id,
            details={"kind": req.kind, "status": req.status, "due_on": due.isoformat()},
        )
    )
    return req


def visible(auth: Authorization, req: SubjectRequest) -> bool:
    """Staff of the register see every request; a worker only their own."""
    if auth.scope in (Scope.READ, Scope.WRITE):
        return True
    return auth.scope is Scope.OWN and req.worker_id in auth.principal.own_worker_ids()


async def get(
    session: AsyncSession, auth: Authorization, request_id: uuid.UUID, *, lock: bool = False
) -> SubjectRequest:
    """One request the caller may see; 404 for an unknown id (register staff only).

    Rights before existence: a worker asking for a request that is not theirs gets the same 403
    whether the id exists or not, and the refusal is traced with the id asked for."""
    query = select(SubjectRequest).where(col(SubjectRequest.id) == request_id)
    if lock:
        query = query.with_for_update()
    req = (await session.execute(query)).scalar_one_or_none()
    if auth.scope not in (Scope.READ, Scope.WRITE) and (req is None or not visible(auth, req)):
        raise RegisterDenied(
            auth.principal,
            "A worker sees their own requests",
            resource=Resource(type="subject_request", id=str(request_id), part="gdpr_register"),
        )
    if req is None:
        raise not_found("Subject request")
    return req


def _scoped(
    query: Select[SubjectRequest], auth: Authorization, worker_id: str | None
) -> Select[SubjectRequest]:
    if auth.scope is Scope.OWN:
        own = auth.principal.own_worker_ids()
        if worker_id is not None and worker_id not in own:
            raise RegisterDenied(
                auth.principal,
                "A worker sees their own requests",
                resource=Resource(type="subject_request", id=None, part="gdpr_register"),
            )
        return query.where(col(SubjectRequest.worker_id).in_([worker_id] if worker_id else own))
    if worker_id is not None:
        return query.where(col(SubjectRequest.worker_id) == worker_id)
    return query


async def listing(
    session: AsyncSession,
    auth: Authorization,
    *,
    worker_id: str | None = None,
    status: RequestStatus | None = None,
    kind: RequestKind | None = None,
) -> list[SubjectRequest]:
    """Requests the caller may see, newest receipt first."""
    query = _scoped(select(SubjectRequest), auth, worker_id)
    if status is not None:
        query = query.where(col(SubjectRequest.status) == status.value)
    if kind is not None:
        query = query.where(col(SubjectRequest.kind) == kind.value)
    query = query.order_by(
        col(SubjectRequest.received_on).desc(), col(SubjectRequest.created_at).desc()
    )
    return list((await session.execute(query)).scalars())


async def overdue(session: AsyncSession, auth: Authorization, as_of: date) -> list[SubjectRequest]:
    """Open requests whose due date has passed, most overdue first."""
    query = _scoped(select(SubjectRequest), auth, None).where(
        col(SubjectRequest.status).in_([s.value for s in OPEN_STATUSES]),
        col(SubjectRequest.due_on) < as_of,
    )
    return list((await session.execute(query.order_by(col(SubjectRequest.due_on)))).scalars())


def _touch(req: SubjectRequest, principal: Principal) -> None:
    req.updated_at = utcnow()
    req.updated_by = principal.user_id


async def extend(
    session: AsyncSession,
    events: RequestEvents,
    auth: Authorization,
    request_id: uuid.UUID,
    body: ExtensionCreate,
    today: date,
) -> SubjectRequest:
    """The one extension by two further months, decided within the first month."""
    req = await get(session, auth, request_id, lock=True)
    if req.status not in OPEN_STATUSES:
        raise conflict(f"The request is {req.status}; only an open request can be extended")
    if req.extended_at is not None:
        raise conflict("The request was already extended; GDPR Art. 12(3) allows one extension")
    if today > req.initial_due_on:
        raise conflict(
            f"The extension had to be decided within the first month (by {req.initial_due_on})"
        )
    req.due_on = deadlines.extended_due(req.received_on)
    req.extended_at = utcnow()
    req.extension_reason = body.reason
    _touch(req, auth.principal)
    await events.emit(
        events.draft(
            "subject_request_updated",
            resource=Resource(type="subject_request", id=str(req.id)),
            worker_id=req.worker_id,
            details={"change": "extended", "status": req.status, "due_on": req.due_on.isoformat()},
        )
    )
    await session.flush()
    return req


async def update(
    session: AsyncSession,
    events: RequestEvents,
    auth: Authorization,
    request_id: uuid.UUID,
    body: SubjectRequestUpdate,
    *,
    settings: Settings,
    http: httpx.AsyncClient,
    token: str,
) -> SubjectRequest:
    """Move a request on (received → in_progress → answered | refused)."""
    req = await get(session, auth, request_id, lock=True)
    current = RequestStatus(req.status)
    if current not in OPEN_STATUSES:
        raise conflict(f"The request is {current.value}; a closed request cannot change")
    target = body.status or current
    if target != current and target not in NEXT[current]:
        allowed = " or ".join(s.value for s in NEXT[current])
        raise conflict(
            f"A {current.value} request can move to {allowed}, not to {target.value}",
        )
    answer = body.answer if "answer" in body.model_fields_set else req.answer
    refusal = (
        body.refusal_reason if "refusal_reason" in body.model_fields_set else req.refusal_reason
    )
    if target == RequestStatus.ANSWERED and not answer:
        raise invalid("An answered request needs its answer", _field("answer", "required"))
    if target == RequestStatus.REFUSED and not refusal:
        raise invalid(
            "A refusal needs its reason (GDPR Art. 12(4))", _field("refusal_reason", "required")
        )
    history = None
    if body.attach_access_history:
        if req.kind != RequestKind.ACCESS:
            raise invalid(
                "Only an access request's answer carries the access history",
                _field("attach_access_history", "not an access request"),
            )
        history = await fetch_access_history(
            http,
            settings.audit_url,
            req.worker_id,
            token,
            max_entries=settings.access_history_max_entries,
            timeout=settings.audit_timeout_seconds,
        )
    changed: list[str] = [
        name
        for name in ("details", "answer", "refusal_reason")
        if name in body.model_fields_set and getattr(body, name) != getattr(req, name)
    ]
    for name in changed:
        setattr(req, name, getattr(body, name))
    if target != current:
        req.status = target.value
        changed.append("status")
        if target in (RequestStatus.ANSWERED, RequestStatus.REFUSED):
            req.closed_at = utcnow()
    if history is not None:
        req.access_history = history
        changed.append("access_history")
    if not changed:
        return req
    _touch(req, auth.principal)
    details: dict[str, object] = {"status": req.status, "changed": changed}
    if history is not None:
        details["access_history_entries"] = len(history["entries"])
    await events.emit(
        events.draft(
            "subject_request_updated",
            resource=Resource(type="subject_request", id=str(req.id)),
            worker_id=req.worker_id,
            details=details,
        )
    )
    await session.flush()
    return req


def _must_be(req: SubjectRequest, kind: RequestKind, what: str) -> None:
    if req.kind != kind.value:
        raise invalid(f"{what} is for a {kind.value} request", _field("kind", req.kind))
    if req.status not in OPEN_STATUSES:
        raise conflict(f"The request is {req.status}; a closed request cannot change")


def _request_body(req: SubjectRequest) -> dict[str, str]:
    return {"subject_request_id": str(req.id), "worker_id": req.worker_id}


async def _emitted(
    events: RequestEvents, req: SubjectRequest, changed: list[str], **details: object
) -> None:
    await events.emit(
        events.draft(
            "subject_request_updated",
            resource=Resource(type="subject_request", id=str(req.id)),
            worker_id=req.worker_id,
            details={"status": req.status, "changed": changed, **details},
        )
    )


async def produce_file_copy(
    session: AsyncSession,
    events: RequestEvents,
    auth: Authorization,
    request_id: uuid.UUID,
    *,
    settings: Settings,
    http: httpx.AsyncClient,
    token: str,
) -> SubjectRequest:
    """The officer's click on an access request: the file as the worker sees it and the history."""
    req = await get(session, auth, request_id, lock=True)
    _must_be(req, RequestKind.ACCESS, "The worker's copy of the file")
    copy = await call_records(http, settings, token, "file-copy", _request_body(req))
    history = await fetch_access_history(
        http,
        settings.audit_url,
        req.worker_id,
        token,
        max_entries=settings.access_history_max_entries,
        timeout=settings.audit_timeout_seconds,
    )
    req.file_copy = copy
    req.access_history = history
    if req.status == RequestStatus.RECEIVED:
        req.status = RequestStatus.IN_PROGRESS.value
    _touch(req, auth.principal)
    await _emitted(
        events,
        req,
        ["file_copy", "access_history"],
        bundle_id=copy["bundle"].get("bundle_id"),
        access_history_entries=len(history["entries"]),
    )
    await session.flush()
    return req


async def check_erasure(
    session: AsyncSession,
    events: RequestEvents,
    auth: Authorization,
    request_id: uuid.UUID,
    *,
    settings: Settings,
    http: httpx.AsyncClient,
    token: str,
) -> SubjectRequest:
    """An erasure request against retention: refused with the legal reason, quoted, or queued."""
    req = await get(session, auth, request_id, lock=True)
    _must_be(req, RequestKind.ERASURE, "The retention check")
    checked = await call_records(http, settings, token, "retention", _request_body(req))
    req.resolution = {"retention": checked}
    if checked["erasable"]:
        req.status = RequestStatus.IN_PROGRESS.value
        req.answer = (
            "The retention term of your file has passed and no legal hold applies: it will be "
            "erased with the next retention batch the medical director approves."
        )
    else:
        req.status = RequestStatus.REFUSED.value
        req.refusal_reason = f'Your file cannot be erased now. "{checked["legal_reason"]}"'
        req.closed_at = utcnow()
    _touch(req, auth.principal)
    await _emitted(events, req, ["resolution", "status"], erasable=checked["erasable"])
    await session.flush()
    return req


async def send_rectification(
    session: AsyncSession,
    events: RequestEvents,
    auth: Authorization,
    request_id: uuid.UUID,
    *,
    settings: Settings,
    http: httpx.AsyncClient,
    token: str,
) -> SubjectRequest:
    """A rectification request becomes a task for the worker's physicians in records."""
    req = await get(session, auth, request_id, lock=True)
    _must_be(req, RequestKind.RECTIFICATION, "A rectification task")
    if not req.details:
        raise invalid(
            "Say what the worker asks to correct (details) before sending it to the physician",
            _field("details", "required"),
        )
    task = await call_records(
        http, settings, token, "rectification", {**_request_body(req), "details": req.details}
    )
    req.resolution = {"rectification_task_id": task["id"], "task_status": task["status"]}
    req.status = RequestStatus.IN_PROGRESS.value
    _touch(req, auth.principal)
    await _emitted(events, req, ["resolution", "status"], rectification_task_id=task["id"])
    await session.flush()
    return req


async def close_rectified(
    session: AsyncSession, events: RequestEvents, principal: Principal, body: RectificationDone
) -> SubjectRequest:
    """Records made the correction: the request closes with the link to the new version."""
    req = (
        await session.execute(
            select(SubjectRequest)
            .where(col(SubjectRequest.id) == body.subject_request_id)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if req is None or req.worker_id != body.worker_id or req.kind != RequestKind.RECTIFICATION:
        raise not_found("Rectification request")
    if req.status == RequestStatus.ANSWERED and (req.resolution or {}).get("correction"):
        return req
    if req.status not in OPEN_STATUSES:
        raise conflict(f"The request is {req.status}; a closed request cannot change")
    c = body.correction
    req.resolution = {
        **(req.resolution or {}),
        "rectification_task_id": str(body.task_id),
        "task_status": "done",
        "correction": c,
    }
    req.answer = (
        f"Your file was corrected by {c.get('corrected_by_name')}: {c.get('entity')} "
        f"{c.get('entity_id')} version {c.get('version')} ({c.get('link')})."
    )
    req.status = RequestStatus.ANSWERED.value
    req.closed_at = utcnow()
    _touch(req, principal)
    await _emitted(events, req, ["resolution", "answer", "status"], correction=c)
    await session.flush()
    return req
