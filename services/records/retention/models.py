"""Legal holds, the retention review's batches and the proof that a file was erased."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, DateTime
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from common.db import utcnow


class LegalHold(SQLModel, table=True):
    """A file that must not be erased while litigation or a claim is ongoing."""

    __tablename__ = "legal_hold"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    worker_id: uuid.UUID = Field(foreign_key="worker.id", nullable=False, index=True)
    kind: str = Field(max_length=16, nullable=False)
    reference: str = Field(max_length=200, nullable=False)
    reason: str = Field(max_length=2000, nullable=False)
    placed_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    placed_by: str = Field(max_length=64, nullable=False)
    lifted_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    lifted_by: str | None = Field(default=None, max_length=64)
    lift_reason: str | None = Field(default=None, max_length=2000)


class ErasureBatch(SQLModel, table=True):
    """The files past their term on one day, waiting for the medical director's approval."""

    __tablename__ = "erasure_batch"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    as_of: date = Field(nullable=False)
    status: str = Field(default="proposed", max_length=16, nullable=False, index=True)
    worker_ids: list[str] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]")
    )
    proposed_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    proposed_by: str = Field(max_length=64, nullable=False)
    approved_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    approved_by: str | None = Field(default=None, max_length=64)
    approved_by_name: str | None = Field(default=None, max_length=200)
    approval_comment: str | None = Field(default=None, max_length=2000)
    outcome: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}")
    )


class Erasure(SQLModel, table=True):
    """What is left of an erased file: that it existed, when it ended, who allowed the erasure."""

    __tablename__ = "erasure"

    worker_id: uuid.UUID = Field(foreign_key="worker.id", primary_key=True)
    batch_id: uuid.UUID = Field(foreign_key="erasure_batch.id", nullable=False, index=True)
    erased_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    employment_end: date = Field(nullable=False)
    term_ended_on: date = Field(nullable=False)
    years_after_employment: int = Field(nullable=False)
    approved_by: str = Field(max_length=64, nullable=False)
    copies: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]")
    )
