"""Exams, fitness decisions and lab results of a file."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, status

from common.db import SessionDep
from common.tokens import CurrentUser
from records.access.events import access_event, trace
from records.exams import service
from records.exams.models import Exam, FitnessDecision
from records.exams.schemas import (
    ExamCreate,
    ExamRead,
    ExamUpdate,
    FitnessDecisionCreate,
    FitnessDecisionRead,
    FitnessDecisionUpdate,
    LabResultCreate,
    LabResultRead,
    VersionRead,
)
from records.history.service import revisions_of
from records.workers.service import OpenFile, open_file

router = APIRouter(tags=["exams"])


def _exam_view(exam: Exam, file: OpenFile) -> ExamRead:
    data = exam.model_dump()
    if file.access.filtered:
        data["third_party_info"] = None
    return ExamRead.model_validate(data)


def _event(request: Request, file: OpenFile, action: str, part: str, kind: str, item: Any) -> Any:
    return access_event(
        request,
        file.access,
        action=action,
        file=file.context,
        part=part,
        resource_type=kind,
        resource_id=str(item.id),
    )


@router.post(
    "/workers/{worker_id}/exams", status_code=status.HTTP_201_CREATED, summary="Record an exam"
)
async def create_exam(
    worker_id: uuid.UUID,
    body: ExamCreate,
    principal: CurrentUser,
    session: SessionDep,
    request: Request,
) -> ExamRead:
    """A new exam (version 1); unknown ICD-10 codes are refused with 422."""
    file = await open_file(session, principal, "create", worker_id, part="exam")
    exam = await service.create_exam(session, worker_id, body, principal)
    await trace(
        session, request, [_event(request, file, "create", "exam", "exam", exam)], read=False
    )
    return _exam_view(exam, file)


@router.get("/exams/{exam_id}", summary="An exam at its current version")
async def read_exam(
    exam_id: uuid.UUID, principal: CurrentUser, session: SessionDep, request: Request
) -> ExamRead:
    """One exam."""
    exam = await service.get(session, Exam, exam_id)
    file = await open_file(
        session,
        principal,
        "read",
        exam.worker_id,
        part="exam",
        resource_type="exam",
        resource_id=str(exam_id),
    )
    await trace(session, request, [_event(request, file, "read", "exam", "exam", exam)], read=True)
    return _exam_view(exam, file)


@router.patch("/exams/{exam_id}", summary="A new version of an exam")
async def update_exam(
    exam_id: uuid.UUID,
    body: ExamUpdate,
    principal: CurrentUser,
    session: SessionDep,
    request: Request,
) -> ExamRead:
    """Never an overwrite: the previous version stays; 409 when `version` is stale."""
    exam = await service.get_for_update(session, Exam, exam_id)
    file = await open_file(
        session,
        principal,
        "update",
        exam.worker_id,
        part="exam",
        resource_type="exam",
        resource_id=str(exam_id),
    )
    exam = await service.update_exam(session, exam, body, principal)
    await trace(
        session, request, [_event(request, file, "update", "exam", "exam", exam)], read=False
    )
    return _exam_view(exam, file)


@router.get("/exams/{exam_id}/versions", summary="Every version of an exam")
async def exam_versions(
    exam_id: uuid.UUID, principal: CurrentUser, session: SessionDep, request: Request
) -> list[VersionRead]:
    """Oldest first, each with who made it and when."""
    exam = await service.get(session, Exam, exam_id)
    file = await open_file(
        session,
        principal,
        "read",
        exam.worker_id,
        part="exam",
        resource_type="exam",
        resource_id=str(exam_id),
    )
    revisions = await revisions_of(session, "exam", exam_id)
    await trace(session, request, [_event(request, file, "read", "exam", "exam", exam)], read=True)
    out = []
    for r in revisions:
        data = dict(r.data)
        if file.access.filtered:
            data.pop("third_party_info", None)
        out.append(VersionRead.model_validate({**r.model_dump(), "data": data}))
    return out


@router.post(
    "/workers/{worker_id}/fitness-decisions",
    status_code=status.HTTP_201_CREATED,
    summary="Record a fitness decision (health evaluation form)",
)
async def create_fitness(
    worker_id: uuid.UUID,
    body: FitnessDecisionCreate,
    principal: CurrentUser,
    session: SessionDep,
    request: Request,
) -> FitnessDecisionRead:
    """Fit, fit with restrictions, temporarily unfit or unfit, with a review date."""
    file = await open_file(session, principal, "create", worker_id, part="fitness")
    item = await service.create_fitness(session, worker_id, body, principal)
    event = _event(request, file, "create", "fitness", "fitness_decision", item)
    await trace(session, request, [event], read=False)
    return FitnessDecisionRead.model_validate(item.model_dump())


@router.get("/fitness-decisions/{decision_id}", summary="A fitness decision")
async def read_fitness(
    decision_id: uuid.UUID, principal: CurrentUser, session: SessionDep, request: Request
) -> FitnessDecisionRead:
    """One decision at its current version."""
    item = await service.get(session, FitnessDecision, decision_id)
    file = await open_file(
        session,
        principal,
        "read",
        item.worker_id,
        part="fitness",
        resource_type="fitness_decision",
        resource_id=str(decision_id),
    )
    event = _event(request, file, "read", "fitness", "fitness_decision", item)
    await trace(session, request, [event], read=True)
    return FitnessDecisionRead.model_validate(item.model_dump())


@router.patch("/fitness-decisions/{decision_id}", summary="A new version of a fitness decision")
async def update_fitness(
    decision_id: uuid.UUID,
    body: FitnessDecisionUpdate,
    principal: CurrentUser,
    session: SessionDep,
    request: Request,
) -> FitnessDecisionRead:
    """Never an overwrite; 409 when `version` is stale."""
    item = await service.get_for_update(session, FitnessDecision, decision_id)
    file = await open_file(
        session,
        principal,
        "update",
        item.worker_id,
        part="fitness",
        resource_type="fitness_decision",
        resource_id=str(decision_id),
    )
    item = await service.update_fitness(session, item, body, principal)
    event = _event(request, file, "update", "fitness", "fitness_decision", item)
    await trace(session, request, [event], read=False)
    return FitnessDecisionRead.model_validate(item.model_dump())


@router.get("/fitness-decisions/{decision_id}/versions", summary="Every version of a decision")
async def fitness_versions(
    decision_id: uuid.UUID, principal: CurrentUser, session: SessionDep, request: Request
) -> list[VersionRead]:
    """Oldest first."""
    item = await service.get(session, FitnessDecision, decision_id)
    file = await open_file(
        session,
        principal,
        "read",
        item.worker_id,
        part="fitness",
        resource_type="fitness_decision",
        resource_id=str(decision_id),
    )
    revisions = await revisions_of(session, "fitness_decision", decision_id)
    event = _event(request, file, "read", "fitness", "fitness_decision", item)
    await trace(session, request, [event], read=True)
    return [VersionRead.model_validate(r.model_dump()) for r in revisions]


@router.post(
    "/workers/{worker_id}/lab-results",
    status_code=status.HTTP_201_CREATED,
    summary="Record a laboratory result",
)
async def add_lab_result(
    worker_id: uuid.UUID,
    body: LabResultCreate,
    principal: CurrentUser,
    session: SessionDep,
    request: Request,
) -> LabResultRead:
    """A result received from an outside laboratory."""
    file = await open_file(session, principal, "create", worker_id, part="lab")
    item = await service.add_lab_result(session, worker_id, body, principal)
    await trace(
        session, request, [_event(request, file, "create", "lab", "lab_result", item)], read=False
    )
    return LabResultRead.model_validate(item.model_dump())
