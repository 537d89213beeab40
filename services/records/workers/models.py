"""Workers under surveillance, their exposures and the staff who follow them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, DateTime
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from common.db import Stamped, utcnow


class Worker(Stamped, table=True):
    """The administrative part of a health file."""

    __tablename__ = "worker"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    version: int = Field(default=1, nullable=False)
    first_name: str = Field(max_length=100, nullable=False)
    last_name: str = Field(max_length=100, nullable=False, index=True)
    birth_date: date = Field(nullable=False)
    employer: str = Field(max_length=200, nullable=False, index=True)
    department: str | None = Field(default=None, max_length=200)
    job_title: str | None = Field(default=None, max_length=200)
    employment_start: date | None = None
    employment_end: date | None = None
    guardian_name: str | None = Field(default=None, max_length=200)
    surveillance_reasons: list[str] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]")
    )
    imported_from: str | None = Field(default=None, max_length=200)


class Exposure(Stamped, table=True):
    """An occupational exposure (noise, dust, solvents, asbestos...) of a worker."""

    __tablename__ = "exposure"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    worker_id: uuid.UUID = Field(foreign_key="worker.id", nullable=False, index=True)
    agent: str = Field(max_length=32, nullable=False)
    description: str | None = Field(default=None, max_length=500)
    started_on: date | None = None
    ended_on: date | None = None


class CareMember(SQLModel, table=True):
    """A staff member who follows a worker (the care relationship)."""

    __tablename__ = "care_member"

    worker_id: uuid.UUID = Field(foreign_key="worker.id", primary_key=True)
    user_id: str = Field(max_length=64, primary_key=True, index=True)
    added_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    added_by: str | None = Field(default=None, max_length=64)


def worker_snapshot(worker: Worker) -> dict[str, Any]:
    """The versioned content of a worker row, as JSON."""
    return worker.model_dump(mode="json", exclude={"created_at", "created_by"})
