"""Tables of the Art. 30 register: the current entry and every version of it."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Uuid
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from common.db import Stamped, utcnow


class ProcessingActivity(Stamped, table=True):
    """One processing activity of the register, in its current version."""

    __tablename__ = "processing_activity"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    controller: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    dpo: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    purposes: list[str] = Field(sa_column=Column(JSONB, nullable=False))
    legal_basis: str = Field(max_length=32)
    special_category_condition: str | None = Field(default=None, max_length=500)
    data_subject_categories: list[str] = Field(sa_column=Column(JSONB, nullable=False))
    data_categories: list[dict[str, Any]] = Field(sa_column=Column(JSONB, nullable=False))
    recipients: list[str] = Field(sa_column=Column(JSONB, nullable=False))
    transfers: list[dict[str, Any]] = Field(sa_column=Column(JSONB, nullable=False))
    retention: list[dict[str, Any]] = Field(sa_column=Column(JSONB, nullable=False))
    security_measures: list[str] = Field(sa_column=Column(JSONB, nullable=False))
    review_on: date
    active: bool = True
    version: int = 1


class ProcessingActivityVersion(SQLModel, table=True):
    """A frozen copy of one version of an activity: who changed what, and when."""

    __tablename__ = "processing_activity_version"

    activity_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("processing_activity.id"), primary_key=True)
    )
    version: int = Field(primary_key=True)
    changed_at: datetime = Field(default_factory=utcnow)
    changed_by: str | None = Field(default=None, max_length=64)
    changed_by_name: str | None = Field(default=None, max_length=200)
    changed_fields: list[str] = Field(sa_column=Column(JSONB, nullable=False))
    snapshot: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
