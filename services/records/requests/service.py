"""Data-subject requests reaching records: the worker's copy, the retention check, corrections.

The register signs each call (HMAC over the body, common.intake) and forwards the security
officer's (or the physician's) own token: the signature says the register holds that request
for that worker, the token says who acts. Neither alone is enough."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any, TypeVar

import httpx
from fastapi import Request
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from common.db import utcnow
from common.errors import Problem, conflict, invalid, not_found, unavailable
from common.events import Resource
from common.intake import SIGNATURE_HEADER, sign, verify
from common.rights import Profile, Right, Scope
from common.tokens import Principal
from records.access.service import Access, AccessDenied
from records.exams import service as exams
from records.exams.models import Exam, FitnessDecision
from records.exams.schemas import ExamUpdate, FitnessDecisionUpdate
from records.history.models import Revision
from records.history.service import revisions_of_worker
from records.movements import service as movements
from records.rectification.models import RectificationTask
from records.settings import Settings
from records.workers import service as workers
from records.workers.models import Worker
from records.workers.schemas import RecordRead

M = TypeVar("M", bound=BaseModel)
NAMESPACE = uuid.UUID("8f1d2c3b-4a5e-4f60-9b7a-1c2d3e4f5a6b")


def problems(exc: ValidationError, prefix: str = "body") -> list[dict[str, str]]:
    """A validation error's fields, as problem+json lists them."""
    return [
        {"field": ".".join([prefix, *(str(p) for p in e["loc"])]), "message": e["msg"]}
        for e in exc.errors()
    ]


async def signed(request: Request, settings: Settings, model: type[M]) -> M:
    """The body of a call the register signed; 403 without a valid signature, 422 if malformed."""
    raw = await signed_body(request, settings)
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise invalid("The request is malformed", problems(exc)) from None


async def signed_body(request: Request, settings: Settings) -> bytes:
    """The raw body of a call the register signed; 403 without a valid signature."""
    raw = await request.body()
    if not verify(
        settings.intake_secret.get_secret_value(), raw, request.headers.get(SIGNATURE_HEADER)
    ):
        raise Problem(403, "Data-subject requests reach records through the register (signature)")
    return raw


def require_officer(principal: Principal, worker_id: str, part: str) -> None:
    """Only the security officer answers data-subject requests (a traced 403 otherwise)."""
    if principal.profile is not Profile.SECURITY_OFFICER:
        raise AccessDenied(
            principal,
            Right.GDPR_REGISTER,
            action="read",
            worker_id=worker_id,
            resource=Resource(type="worker", id=worker_id, part=part),
            detail="Data-subject requests are answered by the security officer",
        )


async def worker_copy(
    session: AsyncSession, worker_id: uuid.UUID, principal: Principal, key: Any, request_id: str
) -> tuple[bytes, dict[str, Any], dict[str, Any]]:
    """The file as the worker may see it, as a PDF and a signed bundle, both kept as movements."""
    data = await workers.load_record(session, worker_id, principal.user_id)
    if data is None:
        raise not_found("Worker")
    shaped = workers.shape_record(data, Access(principal, Right.READ, scope=Scope.OWN_FILTERED))
    shaped["view"] = "worker"
    shaped["exams"] = [{**e, "third_party_info": None} for e in shaped["exams"]]
    record = RecordRead.model_validate(shaped)
    pdf = movements.render_pdf(record, principal)
    revisions = list(await revisions_of_worker(session, worker_id))
    bundle = movements.build_bundle(record, revisions, key, principal)
    common = {"view": "worker", "subject_request_id": request_id}
    movements.add_movement(session, worker_id, "print", principal, {**common, "bytes": len(pdf)})
    movements.add_movement(
        session, worker_id, "export", principal, {**common, "bundle_id": bundle["bundle_id"]}
    )
    await session.flush()
    return pdf, bundle, data["worker"]


def pdf_text(pdf: bytes) -> str:
    """Base64 for JSON transport."""
    return base64.b64encode(pdf).decode()


def task_id_for(subject_request_id: uuid.UUID) -> uuid.UUID:
    """One task per request: a retry of the intake finds the first one."""
    return uuid.uuid5(NAMESPACE, f"rectification:{subject_request_id}")


async def open_task(
    session: AsyncSession,
    subject_request_id: uuid.UUID,
    worker_id: uuid.UUID,
    details: str,
    principal: Principal,
) -> tuple[RectificationTask, bool]:
    """The file's physicians get the correction to make (idempotent on the request)."""
    task_id = task_id_for(subject_request_id)
    task = await session.get(RectificationTask, task_id)
    if task is not None:
        return task, False
    if await session.get(Worker, worker_id) is None:
        raise not_found("Worker")
    task = RectificationTask(
        id=task_id,
        subject_request_id=subject_request_id,
        worker_id=worker_id,
        details=details,
        created_by=principal.user_id,
        updated_by=principal.user_id,
    )
    session.add(task)
    await session.flush()
    return task, True


async def correct(
    session: AsyncSession,
    task: RectificationTask,
    entity: str,
    entity_id: uuid.UUID,
    changes: dict[str, Any],
    principal: Principal,
) -> dict[str, Any]:
    """A new version of the exam or decision that names the request; the task is done."""
    if task.status != "open":
        raise conflict("The rectification was made already", correction=task.correction)
    model: Any = Exam if entity == "exam" else FitnessDecision
    item = (
        await session.execute(select(model).where(col(model.id) == entity_id).with_for_update())
    ).scalar_one_or_none()
    if item is None or item.worker_id != task.worker_id:
        raise invalid(
            f"No such {entity} in the file of this request", [{"field": "body.entity_id"}]
        )
    try:
        if entity == "exam":
            await exams.update_exam(session, item, ExamUpdate.model_validate(changes), principal)
        else:
            await exams.update_fitness(
                session, item, FitnessDecisionUpdate.model_validate(changes), principal
            )
    except ValidationError as exc:
        raise invalid(
            "The correction is not a valid change", problems(exc, "body.changes")
        ) from None
    revision = (
        await session.execute(
            select(Revision).where(
                col(Revision.entity) == entity,
                col(Revision.entity_id) == entity_id,
                col(Revision.version) == item.version,
            )
        )
    ).scalar_one()
    revision.data = {**revision.data, "rectification_request_id": str(task.subject_request_id)}
    correction = {
        "entity": entity,
        "entity_id": str(entity_id),
        "version": item.version,
        "link": f"/{'exams' if entity == 'exam' else 'fitness-decisions'}/{entity_id}/versions",
        "corrected_by": principal.user_id,
        "corrected_by_name": principal.display_name,
        "corrected_at": utcnow().isoformat(),
    }
    task.status = "done"
    task.done_at = utcnow()
    task.correction = correction
    task.updated_at = utcnow()
    task.updated_by = principal.user_id
    await session.flush()
    return correction


async def close_in_register(
    http: httpx.AsyncClient, settings: Settings, token: str, task: RectificationTask
) -> None:
    """The register closes the request with the link (before records commits: never half-done)."""
    body = json.dumps(
        {
            "subject_request_id": str(task.subject_request_id),
            "worker_id": str(task.worker_id),
            "task_id": str(task.id),
            "correction": task.correction,
        },
        sort_keys=True,
    ).encode()
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(settings.intake_secret.get_secret_value(), body),
    }
    url = f"{settings.register_url.rstrip('/')}/rectification-intake"
    try:
        resp = await http.post(
            url, content=body, headers=headers, timeout=settings.register_timeout_seconds
        )
    except httpx.HTTPError as exc:
        raise unavailable("The register is unreachable; the correction was not recorded") from exc
    if resp.status_code not in (200, 201):
        raise unavailable(
            f"The register answered {resp.status_code}; the correction was not recorded"
        )
