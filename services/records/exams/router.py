"""Exams, fitness decisions and lab results of a file."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, status

from common.db import SessionDep
from common.tokens import CurrentUser
from records.access.events import FileAccess, TracedFile
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

router = APIRouter(tags=["exams"])

ExamCreation = FileAccess("create", part="exam", resource_type="exam")
ExamReading = FileAccess("read", part="exam", by=Exam)
ExamUpdating = FileAccess("update", part="exam", by=Exam, lock=True)
FitnessCreation = FileAccess("create", part="fitness", resource_type="fitness_decision")
FitnessReading = FileAccess("read", part="fitness", by=FitnessDecision, param="decision_id")
FitnessUpdating = FileAccess(
    "update", part="fitness", by=FitnessDecision, param="decision_id", lock=True
)
LabCreation = FileAccess("create", part="lab", resource_type="lab_result")


def _exam_view(exam: Exam, file: TracedFile) -> ExamRead:
    data = exam.model_dump()
    if file.access.filtered:
        data["third_party_info"] = None
    return ExamRead.model_validate(data)


@router.post(
    "/workers/{worker_id}/exams", status_code=status.HTTP_201_CREATED, summary="Record an exam"
)
async def create_exam(
    worker_id: uuid.UUID,
    body: ExamCreate,
    principal: CurrentUser,
    session: SessionDep,
    file: Annotated[TracedFile, ExamCreation],
) -> ExamRead:
    """A new exam (version 1); unknown ICD-10 codes are refused with 422."""
    exam = await service.create_exam(session, worker_id, body, principal)
    file.touched(str(exam.id))
    return _exam_view(exam, file)


@router.get("/exams/{exam_id}", summary="An exam at its current version")
async def read_exam(exam_id: uuid.UUID, file: Annotated[TracedFile, ExamReading]) -> ExamRead:
    """One exam."""
    return _exam_view(file.item, file)


@router.patch("/exams/{exam_id}", summary="A new version of an exam")
async def update_exam(
    exam_id: uuid.UUID,
    body: ExamUpdate,
    principal: CurrentUser,
    session: SessionDep,
    file: Annotated[TracedFile, ExamUpdating],
) -> ExamRead:
    """Never an overwrite: the previous version stays; 409 when `version` is stale."""
    exam = await service.update_exam(session, file.item, body, principal)
    return _exam_view(exam, file)


@router.get("/exams/{exam_id}/versions", summary="Every version of an exam")
async def exam_versions(
    exam_id: uuid.UUID, session: SessionDep, file: Annotated[TracedFile, ExamReading]
) -> list[VersionRead]:
    """Oldest first, each with who made it and when."""
    revisions = await revisions_of(session, "exam", exam_id)
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
    file: Annotated[TracedFile, FitnessCreation],
) -> FitnessDecisionRead:
    """Fit, fit with restrictions, temporarily unfit or unfit, with a review date."""
    item = await service.create_fitness(session, worker_id, body, principal)
    file.touched(str(item.id))
    return FitnessDecisionRead.model_validate(item.model_dump())


@router.get("/fitness-decisions/{decision_id}", summary="A fitness decision")
async def read_fitness(
    decision_id: uuid.UUID, file: Annotated[TracedFile, FitnessReading]
) -> FitnessDecisionRead:
    """One decision at its current version."""
    return FitnessDecisionRead.model_validate(file.item.model_dump())


@router.patch("/fitness-decisions/{decision_id}", summary="A new version of a fitness decision")
async def update_fitness(
    decision_id: uuid.UUID,
    body: FitnessDecisionUpdate,
    principal: CurrentUser,
    session: SessionDep,
    file: Annotated[TracedFile, FitnessUpdating],
) -> FitnessDecisionRead:
    """Never an overwrite; 409 when `version` is stale."""
    item = await service.update_fitness(session, file.item, body, principal)
    return FitnessDecisionRead.model_validate(item.model_dump())


@router.get("/fitness-decisions/{decision_id}/versions", summary="Every version of a decision")
async def fitness_versions(
    decision_id: uuid.UUID, session: SessionDep, file: Annotated[TracedFile, FitnessReading]
) -> list[VersionRead]:
    """Oldest first."""
    revisions = await revisions_of(session, "fitness_decision", decision_id)
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
    file: Annotated[TracedFile, LabCreation],
) -> LabResultRead:
    """A result received from an outside laboratory."""
    item = await service.add_lab_result(session, worker_id, body, principal)
    file.touched(str(item.id))
    return LabResultRead.model_validate(item.model_dump())
