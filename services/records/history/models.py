"""Every version of every versioned piece of a file: updates never overwrite."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from common.db import utcnow


class Revision(SQLModel, table=True):
    """One version of an entity (worker, exam, fitness decision...), with who and when."""

    __tablename__ = "revision"
    __table_args__ = (UniqueConstraint("entity", "entity_id", "version"),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    entity: str = Field(max_length=32, nullable=False)
    entity_id: uuid.UUID = Field(nullable=False, index=True)
    worker_id: uuid.UUID = Field(nullable=False, index=True)
    version: int = Field(nullable=False)
    data: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    created_by: str | None = Field(default=None, max_length=64)
    created_by_name: str | None = Field(default=None, max_length=200)
