"""Worker, exposure, care team and whole-record payloads."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from records.exams.schemas import ExamRead, FitnessDecisionRead, LabResultRead
from records.validation import Input

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
UserId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Agent = Literal[
    "noise",
    "dust",
    "solvents",
    "vibrations",
    "biological",
    "chemicals",
    "asbestos",
    "ionizing_radiation",
    "carcinogens",
    "heat",
    "night_work",
    "manual_handling",
    "screen_work",
    "other",
]
PastDate = Annotated[date, Field(ge=date(1900, 1, 1), le=date(2100, 12, 31))]


def _ordered(start: date | None, end: date | None, what: str) -> None:
    if start and end and end < start:
        raise ValueError(f"{what} ends before it starts")


class ExposureCreate(Input):
    """An exposure to record."""

    agent: Agent
    description: Annotated[str, StringConstraints(max_length=500)] | None = None
    started_on: PastDate | None = None
    ended_on: PastDate | None = None

    @model_validator(mode="after")
    def _dates(self) -> Self:
        _ordered(self.started_on, self.ended_on, "exposure")
        return self


class ExposureRead(BaseModel):
    """A recorded exposure."""

    id: uuid.UUID
    worker_id: uuid.UUID
    agent: str
    description: str | None
    started_on: date | None
    ended_on: date | None
    created_at: datetime
    created_by: str | None


class WorkerCreate(Input):
    """A new file: identity, employer, employment; exposures and care team may come along."""

    first_name: Name
    last_name: Name
    birth_date: PastDate
    employer: Label
    department: Label | None = None
    job_title: Label | None = None
    employment_start: PastDate | None = None
    employment_end: PastDate | None = None
    guardian_name: Label | None = None
    surveillance_reasons: list[Label] = Field(default_factory=list, max_length=20)
    exposures: list[ExposureCreate] = Field(default_factory=list, max_length=20)
    care_team: list[UserId] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _dates(self) -> Self:
        _ordered(self.employment_start, self.employment_end, "employment")
        return self


class WorkerUpdate(Input):
    """Changes to the administrative part, against the version the client read."""

    version: int = Field(ge=1, le=2**31 - 1)
    first_name: Name | None = None
    last_name: Name | None = None
    birth_date: PastDate | None = None
    employer: Label | None = None
    department: Label | None = None
    job_title: Label | None = None
    employment_start: PastDate | None = None
    employment_end: PastDate | None = None
    guardian_name: Label | None = None
    surveillance_reasons: list[Label] | None = Field(default=None, max_length=20)


class RetentionRead(BaseModel):
    """The file's earliest deletion date and the rule that gave it."""

    earliest_deletion_on: date | None
    years_after_employment: int
    rule: str


class WorkerRead(BaseModel):
    """The administrative part of a file."""

    id: uuid.UUID
    version: int
    first_name: str
    last_name: str
    birth_date: date
    employer: str
    department: str | None
    job_title: str | None
    employment_start: date | None
    employment_end: date | None
    guardian_name: str | None
    surveillance_reasons: list[str]
    imported_from: str | None = None
    retention: RetentionRead
    created_at: datetime
    created_by: str | None
    updated_at: datetime
    updated_by: str | None


class WorkerSummary(BaseModel):
    """One search hit."""

    id: uuid.UUID
    first_name: str
    last_name: str
    birth_date: date
    employer: str
    department: str | None


class WorkerPage(BaseModel):
    """Search results."""

    items: list[WorkerSummary]
    limit: int
    offset: int


class WorkerDirectoryRead(BaseModel):
    """A worker as administrative staff see them: enough to find them and schedule an exam.

    Nothing medical: no surveillance reasons, exposures, retention rule (a 40-year rule reveals
    a listed exposure), exams or decisions. `next_exam_due` is the review date of the latest
    fitness decision, computed by the service; null when there is none."""

    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID
    first_name: str
    last_name: str
    birth_date: date
    employer: str
    department: str | None
    next_exam_due: date | None


class WorkerDirectoryPage(BaseModel):
    """Search results in the directory (administrative staff)."""

    model_config = ConfigDict(extra="forbid")

    items: list[WorkerDirectoryRead]
    limit: int
    offset: int


class CareTeamUpdate(Input):
    """The staff who follow a worker (replaces the current team)."""

    user_ids: list[UserId] = Field(max_length=50)


class CareTeamRead(BaseModel):
    """The staff who follow a worker."""

    worker_id: uuid.UUID
    user_ids: list[str]


class RecordRead(BaseModel):
    """The health file as the caller may see it."""

    view: Literal["full", "worker"]
    worker: WorkerRead
    exposures: list[ExposureRead]
    exams: list[ExamRead]
    fitness_decisions: list[FitnessDecisionRead]
    lab_results: list[LabResultRead]
    care_team: list[str]
