"""Data-subject requests (GDPR Art. 15-21) and their time limits."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field

from common.db import Stamped


class SubjectRequest(Stamped, table=True):
    """A request from a worker about their own file."""

    __tablename__ = "subject_request"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    worker_id: str = Field(max_length=64, index=True)
    kind: str = Field(max_length=16)
    received_on: date
    details: str | None = Field(default=None, max_length=4000)
    status: str = Field(default="received", max_length=16, index=True)
    due_on: date = Field(index=True)
    initial_due_on: date
    extended_at: datetime | None = None
    extension_reason: str | None = Field(default=None, max_length=4000)
    answer: str | None = Field(default=None, max_length=4000)
    refusal_reason: str | None = Field(default=None, max_length=4000)
    closed_at: datetime | None = None
    access_history: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB))
    file_copy: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB))
    resolution: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB))
    filed_by_profile: str = Field(max_length=32)
