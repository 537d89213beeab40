"""Projections rebuilt from the store: histories, actor activity, alerts, gaps, sources."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


class AccessEntry(SQLModel, table=True):
    """One access to a worker's file, as the worker's history shows it."""

    __tablename__ = "access_entry"
    __table_args__ = (
        Index("ix_access_entry_worker_time", "worker_id", "occurred_at", "position"),
        Index("ix_access_entry_actor_time", "actor_user_id", "occurred_at"),
    )

    position: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    event_id: uuid.UUID = Field(nullable=False)
    worker_id: str = Field(max_length=64, nullable=False)
    occurred_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    source: str = Field(max_length=16, nullable=False)
    actor_user_id: str | None = Field(default=None, max_length=64)
    actor_name: str | None = Field(default=None, max_length=200)
    actor_profile: str | None = Field(default=None, max_length=32)
    action: str = Field(max_length=64, nullable=False)
    outcome: str = Field(max_length=16, nullable=False)
    resource_type: str | None = Field(default=None, max_length=64)
    resource_id: str | None = Field(default=None, max_length=64)
    part: str | None = Field(default=None, max_length=64)
    purpose: str | None = Field(default=None, sa_column=Column(Text))
    details: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB))
    # When the projector wrote the entry (projection lag is measured from it).
    projected_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class ProjectionPosition(SQLModel, table=True):
    """The store position the projections have folded up to, moved in the same transaction."""

    __tablename__ = "projection_position"

    name: str = Field(primary_key=True, max_length=32)
    position: int = Field(sa_column=Column(BigInteger, nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ActorActivity(SQLModel, table=True):
    """What one actor did, in totals."""

    __tablename__ = "actor_activity"

    user_id: str = Field(primary_key=True, max_length=64)
    username: str = Field(max_length=200, nullable=False)
    display_name: str = Field(max_length=200, nullable=False)
    profile: str = Field(max_length=32, nullable=False)
    events: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    denied: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    file_accesses: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    first_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    last_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class Alert(SQLModel, table=True):
    """An alert for the monitoring committee; its id derives from what raised it."""

    __tablename__ = "alert"
    __table_args__ = (
        Index("ix_alert_raised", "raised_at", "id"),
        Index("ix_alert_actor_kind", "actor_user_id", "kind", "occurred_at"),
        # The open alert an event may count on (aggregation), per rule, actor and worker.
        Index(
            "ix_alert_open_key",
            "kind",
            "actor_user_id",
            "worker_id",
            postgresql_where=text("closed_position IS NULL"),
        ),
    )

    id: uuid.UUID = Field(primary_key=True)
    kind: str = Field(max_length=32, nullable=False)
    severity: str = Field(max_length=16, nullable=False)
    summary: str = Field(sa_column=Column(Text, nullable=False))
    position: int = Field(sa_column=Column(BigInteger, nullable=False))
    event_id: uuid.UUID | None = Field(default=None)
    occurred_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    raised_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    worker_id: str | None = Field(default=None, max_length=64)
    actor_user_id: str | None = Field(default=None, max_length=64)
    actor_name: str | None = Field(default=None, max_length=200)
    actor_profile: str | None = Field(default=None, max_length=32)
    gap_id: uuid.UUID | None = Field(default=None)
    acknowledged_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True))
    )
    acknowledged_by: str | None = Field(default=None, max_length=200)
    comment: str | None = Field(default=None, sa_column=Column(Text))
    resolved_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    # Aggregation: the events behind one open alert (the first is event_id / occurred_at).
    count: int = Field(default=1, sa_column=Column(Integer, nullable=False, server_default="1"))
    last_event_id: uuid.UUID | None = Field(default=None)
    last_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    # Triage: assignment and resolution (justified or abuse), each applied from an audit event.
    assigned_to: str | None = Field(default=None, max_length=200)
    assigned_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    assigned_by: str | None = Field(default=None, max_length=200)
    resolution: str | None = Field(default=None, max_length=16)
    resolved_by: str | None = Field(default=None, max_length=200)
    resolution_comment: str | None = Field(default=None, sa_column=Column(Text))
    incident_id: uuid.UUID | None = Field(default=None)
    # The store position of the alert_resolved event (set when the consumer chains it, never by
    # the request): later events open a new alert; earlier ones, even if they were folded after
    # the request answered, count on this one, exactly as a replay in store order decides.
    closed_position: int | None = Field(default=None, sa_column=Column(BigInteger))


class AlertEvent(SQLModel, table=True):
    """One event behind an alert (an aggregated alert has many)."""

    __tablename__ = "alert_event"

    alert_id: uuid.UUID = Field(primary_key=True)
    event_id: uuid.UUID = Field(primary_key=True)
    position: int = Field(sa_column=Column(BigInteger, nullable=False))
    occurred_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class Gap(SQLModel, table=True):
    """Missing source_seq values of a source; open until every one of them has arrived."""

    __tablename__ = "gap"
    __table_args__ = (Index("ix_gap_open", "source", "resolved_at"),)

    id: uuid.UUID = Field(primary_key=True)
    source: str = Field(max_length=16, nullable=False)
    from_seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    to_seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    missing: int = Field(sa_column=Column(BigInteger, nullable=False))
    opened_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    resolved_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    alert_id: uuid.UUID | None = Field(default=None)


class SourceStat(SQLModel, table=True):
    """Per source: how many events, the highest source_seq, the last event time."""

    __tablename__ = "source_stat"

    source: str = Field(primary_key=True, max_length=16)
    events: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    max_seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    last_occurred_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    last_recorded_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


PROJECTION_TABLES = ("access_entry", "actor_activity", "alert", "alert_event", "gap", "source_stat")
