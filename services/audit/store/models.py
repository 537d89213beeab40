"""The append-only event store, its signed checkpoints and the signing key."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class Event(SQLModel, table=True):
    """One stored event: a link of the hash chain; never updated, never deleted."""

    __tablename__ = "event"
    __table_args__ = (
        # One event per number of a source: a second one would be a forgery or a replay.
        UniqueConstraint("source", "source_seq", name="uq_event_source_seq"),
        Index("ix_event_actor_time", "actor_user_id", "occurred_at"),
    )

    position: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    event_id: uuid.UUID = Field(unique=True, nullable=False)
    source: str = Field(max_length=16, nullable=False)
    source_seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    occurred_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    recorded_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    worker_id: str | None = Field(default=None, max_length=64)
    actor_user_id: str | None = Field(default=None, max_length=64)
    actor_profile: str | None = Field(default=None, max_length=32)
    action: str = Field(max_length=64, nullable=False)
    outcome: str = Field(max_length=16, nullable=False)
    origin_topic: str | None = Field(default=None, max_length=64)
    origin_partition: int | None = Field(default=None, sa_column=Column(Integer))
    origin_offset: int | None = Field(default=None, sa_column=Column(BigInteger))
    body: str = Field(sa_column=Column(Text, nullable=False))
    prev_hash: str = Field(sa_column=Column(String(64), nullable=False))
    hash: str = Field(sa_column=Column(String(64), nullable=False))


class Checkpoint(SQLModel, table=True):
    """A signed statement of the chain head; append-only like the store."""

    __tablename__ = "checkpoint"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    position: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    hash: str = Field(sa_column=Column(String(64), nullable=False))
    signed_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    key_id: str = Field(max_length=32, nullable=False)
    signature: str = Field(sa_column=Column(Text, nullable=False))


class SigningKey(SQLModel, table=True):
    """The public half of each key that signed checkpoints (the private key is a secret of the
    consumer's, never stored here: the application role reads this table)."""

    __tablename__ = "checkpoint_key"

    key_id: str = Field(primary_key=True, max_length=32)
    public_pem: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
