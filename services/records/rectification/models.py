"""Rectification tasks: a worker's request to correct their file, given to their physician."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Column, DateTime
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field

from common.db import Stamped


class RectificationTask(Stamped, table=True):
    """A correction the physicians of the file owe to a data-subject request."""

    __tablename__ = "rectification_task"

    id: uuid.UUID = Field(primary_key=True)
    subject_request_id: uuid.UUID = Field(nullable=False, unique=True)
    worker_id: uuid.UUID = Field(foreign_key="worker.id", nullable=False, index=True)
    details: str = Field(max_length=4000, nullable=False)
    status: str = Field(default="open", max_length=16, nullable=False, index=True)
    done_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    correction: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB))
