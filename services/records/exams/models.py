"""Exams, fitness decisions (the health evaluation form) and lab results."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Column, DateTime, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field

from common.db import Stamped, utcnow


class Exam(Stamped, table=True):
    """An exam; the row holds the current version, every version is in revision."""

    __tablename__ = "exam"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    worker_id: uuid.UUID = Field(foreign_key="worker.id", nullable=False, index=True)
    version: int = Field(default=1, nullable=False)
    kind: str = Field(max_length=32, nullable=False)
    performed_on: date = Field(nullable=False)
    physician_id: str | None = Field(default=None, max_length=64)
    physician_name: str | None = Field(default=None, max_length=200)
    findings: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    diagnoses: list[str] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]")
    )
    third_party_info: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class FitnessDecision(Stamped, table=True):
    """The physician's decision on the health evaluation form."""

    __tablename__ = "fitness_decision"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    worker_id: uuid.UUID = Field(foreign_key="worker.id", nullable=False, index=True)
    exam_id: uuid.UUID | None = Field(default=None, foreign_key="exam.id")
    version: int = Field(default=1, nullable=False)
    decision: str = Field(max_length=32, nullable=False)
    job: str | None = Field(default=None, max_length=200)
    restrictions: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    review_on: date | None = None
    decided_on: date = Field(nullable=False)
    physician_id: str | None = Field(default=None, max_length=64)
    physician_name: str | None = Field(default=None, max_length=200)


class LabResult(Stamped, table=True):
    """A result received from an outside laboratory."""

    __tablename__ = "lab_result"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    worker_id: uuid.UUID = Field(foreign_key="worker.id", nullable=False, index=True)
    test: str = Field(max_length=200, nullable=False)
    value: str = Field(max_length=200, nullable=False)
    unit: str | None = Field(default=None, max_length=50)
    reference_range: str | None = Field(default=None, max_length=100)
    laboratory: str | None = Field(default=None, max_length=200)
    sampled_on: date = Field(nullable=False)
    received_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
