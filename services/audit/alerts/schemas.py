"""Alerts for the monitoring committee."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class AlertRead(BaseModel):
    """An alert, with its acknowledgement when there is one."""

    id: uuid.UUID
    kind: str
    severity: str
    summary: str
    status: Literal["open", "acknowledged", "resolved"]
    occurred_at: datetime
    raised_at: datetime
    event_id: uuid.UUID | None
    worker_id: str | None
    actor_user_id: str | None
    actor_name: str | None
    actor_profile: str | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    comment: str | None
    resolved_at: datetime | None
    count: int = 1
    last_event_id: uuid.UUID | None = None
    last_at: datetime | None = None
    assigned_to: str | None = None
    assigned_at: datetime | None = None
    assigned_by: str | None = None
    resolution: Literal["justified", "abuse"] | None = None
    resolved_by: str | None = None
    resolution_comment: str | None = None
    incident_id: uuid.UUID | None = None


class AlertAssignCreate(BaseModel):
    """Who looks into the alert."""

    model_config = {"extra": "forbid"}

    assignee: str = Field(min_length=1, max_length=200)
    comment: str | None = Field(default=None, max_length=2000)


class AlertResolveCreate(BaseModel):
    """The conclusion: the access was justified, or it was abuse (optionally an incident)."""

    model_config = {"extra": "forbid"}

    resolution: Literal["justified", "abuse"]
    comment: str = Field(min_length=1, max_length=2000)
    open_incident: bool = False


class AlertEventsRead(BaseModel):
    """The events behind one alert, oldest first."""

    alert_id: uuid.UUID
    events: list[dict[str, object]]


class AlertPage(BaseModel):
    """A page of alerts, newest first."""

    items: list[AlertRead]
    next_cursor: str | None


class AlertAcknowledgeCreate(BaseModel):
    """An acknowledgement: what was looked at and decided."""

    model_config = {"extra": "forbid"}

    comment: str = Field(min_length=1, max_length=2000)
