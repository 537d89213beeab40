"""Exam, fitness decision and lab result payloads."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, Field, StringConstraints, model_validator

from records.validation import Input

ExamKind = Literal["preliminary", "periodic", "return_to_work", "spontaneous", "maternity"]
Decision = Literal["fit", "fit_with_restrictions", "temporarily_unfit", "unfit"]
Day = Annotated[date, Field(ge=date(1900, 1, 1), le=date(2100, 12, 31))]
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16)]
LongText = Annotated[str, StringConstraints(max_length=20_000)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class ExamCreate(Input):
    """A new exam; diagnoses are ICD-10 codes, checked against the WHO list."""

    kind: ExamKind
    performed_on: Day
    findings: LongText = ""
    diagnoses: list[Code] = Field(default_factory=list, max_length=50)
    third_party_info: LongText | None = None
    physician_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    physician_name: Label | None = None


class ExamUpdate(Input):
    """Changes to an exam, against the version the client read (409 when stale)."""

    version: int = Field(ge=1, le=2**31 - 1)
    kind: ExamKind | None = None
    performed_on: Day | None = None
    findings: LongText | None = None
    diagnoses: list[Code] | None = Field(default=None, max_length=50)
    third_party_info: LongText | None = None


class ExamRead(BaseModel):
    """An exam at its current version."""

    id: uuid.UUID
    worker_id: uuid.UUID
    version: int
    kind: str
    performed_on: date
    physician_id: str | None
    physician_name: str | None
    findings: str
    diagnoses: list[str]
    third_party_info: str | None = None
    created_at: datetime
    created_by: str | None
    updated_at: datetime
    updated_by: str | None


class VersionRead(BaseModel):
    """One kept version, with who made it and when."""

    version: int
    data: dict[str, Any]
    created_at: datetime
    created_by: str | None
    created_by_name: str | None


class FitnessDecisionCreate(Input):
    """The health evaluation form's decision."""

    decision: Decision
    decided_on: Day
    job: Label | None = None
    restrictions: LongText | None = None
    review_on: Day | None = None
    exam_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if self.decision == "fit_with_restrictions" and not (self.restrictions or "").strip():
            raise ValueError("fit_with_restrictions needs the restrictions")
        if self.review_on and self.review_on < self.decided_on:
            raise ValueError("review_on is before decided_on")
        return self


class FitnessDecisionUpdate(Input):
    """Changes to a decision, against the version the client read."""

    version: int = Field(ge=1, le=2**31 - 1)
    decision: Decision | None = None
    job: Label | None = None
    restrictions: LongText | None = None
    review_on: Day | None = None


class FitnessDecisionRead(BaseModel):
    """A fitness decision at its current version."""

    id: uuid.UUID
    worker_id: uuid.UUID
    exam_id: uuid.UUID | None
    version: int
    decision: str
    job: str | None
    restrictions: str | None
    review_on: date | None
    decided_on: date
    physician_id: str | None
    physician_name: str | None
    created_at: datetime
    created_by: str | None
    updated_at: datetime
    updated_by: str | None


class LabResultCreate(Input):
    """A result received from a laboratory."""

    test: Label
    value: Label
    unit: Annotated[str, StringConstraints(max_length=50)] | None = None
    reference_range: Annotated[str, StringConstraints(max_length=100)] | None = None
    laboratory: Label | None = None
    sampled_on: Day


class LabResultRead(BaseModel):
    """A laboratory result."""

    id: uuid.UUID
    worker_id: uuid.UUID
    test: str
    value: str
    unit: str | None
    reference_range: str | None
    laboratory: str | None
    sampled_on: date
    received_at: datetime
    created_by: str | None
