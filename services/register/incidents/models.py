"""The register of incidents and personal-data breaches (Art. 33(5))."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field

from common.db import Stamped


class Incident(Stamped, table=True):
    """An incident; when it is a personal-data breach, the Art. 33 and 34 facts."""

    __tablename__ = "incident"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    kind: str = Field(max_length=32)
    title: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=4000)
    status: str = Field(default="open", max_length=16)
    occurred_at: datetime | None = None
    aware_at: datetime
    worker_id: str | None = Field(default=None, max_length=64)
    alert_id: str | None = Field(default=None, max_length=64, unique=True)
    personal_data_breach: bool = False
    breach_nature: list[str] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    subject_categories: list[str] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False)
    )
    approx_subjects: int | None = None
    data_categories: list[str] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False)
    )
    approx_records: int | None = None
    likely_consequences: str | None = Field(default=None, max_length=4000)
    measures_taken: str | None = Field(default=None, max_length=4000)
    dpo_contact: str | None = Field(default=None, max_length=200)
    late_reason: str | None = Field(default=None, max_length=4000)
    notified_at: datetime | None = None
    authority_reference: str | None = Field(default=None, max_length=200)
    subjects_informed: bool | None = None
    subjects_informed_at: datetime | None = None
    subjects_not_informed_reason: str | None = Field(default=None, max_length=4000)
    closed_at: datetime | None = None
    version: int = 1
