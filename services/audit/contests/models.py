"""A stored contest (append-only): what was contested, why, and what it set in motion."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Column, Date, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class Contest(SQLModel, table=True):
    """One contest per access event; its status lives in the register's request."""

    __tablename__ = "contest"
    __table_args__ = (
        UniqueConstraint("event_id", name="contest_event_id_key"),
        Index("ix_contest_worker_time", "worker_id", "created_at"),
    )

    id: uuid.UUID = Field(primary_key=True)
    event_id: uuid.UUID = Field(nullable=False)
    worker_id: str = Field(max_length=64, nullable=False)
    contested_by: str = Field(max_length=64, nullable=False)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    event_occurred_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    event_actor_name: str | None = Field(default=None, max_length=200)
    audit_event_id: uuid.UUID = Field(nullable=False)
    subject_request_id: uuid.UUID = Field(nullable=False)
    incident_id: uuid.UUID = Field(nullable=False)
    alert_id: uuid.UUID = Field(nullable=False)
    assessment_due_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    answer_due_on: date | None = Field(default=None, sa_column=Column(Date))
