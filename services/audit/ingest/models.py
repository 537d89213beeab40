"""The consumer's positions and its quarantine of poison messages."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Integer, LargeBinary, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


class ConsumerPosition(SQLModel, table=True):
    """The next offset to read per partition, written with the batch it follows."""

    __tablename__ = "consumer_position"

    topic: str = Field(primary_key=True, max_length=64)
    partition: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    next_offset: int = Field(sa_column=Column(BigInteger, nullable=False))
    # SHA-256 of the message at next_offset - 1: which log the position points into.
    fingerprint: str | None = Field(default=None, max_length=64)
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class Quarantine(SQLModel, table=True):
    """A message that is not a valid access-event/1, kept with the reason."""

    __tablename__ = "quarantine"
    __table_args__ = (UniqueConstraint("topic", "partition", "offset"),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    topic: str = Field(max_length=64, nullable=False)
    partition: int = Field(sa_column=Column(Integer, nullable=False))
    offset: int = Field(sa_column=Column(BigInteger, nullable=False))
    key: str | None = Field(default=None, sa_column=Column(Text))
    value: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    received_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class PendingEvent(SQLModel, table=True):
    """An event of the audit service itself, durable at once, chained by the consumer."""

    __tablename__ = "pending_event"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    event_id: uuid.UUID = Field(unique=True, nullable=False)
    draft: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class LogReset(SQLModel, table=True):
    """A partition whose broker log was not the one the saved position pointed into."""

    __tablename__ = "log_reset"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    topic: str = Field(max_length=64, nullable=False)
    partition: int = Field(sa_column=Column(Integer, nullable=False))
    saved_offset: int = Field(sa_column=Column(BigInteger, nullable=False))
    earliest_offset: int = Field(sa_column=Column(BigInteger, nullable=False))
    end_offset: int = Field(sa_column=Column(BigInteger, nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    detected_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, index=True)
    )
