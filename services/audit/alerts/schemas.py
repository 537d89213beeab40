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


class AlertPage(BaseModel):
    """A page of alerts, newest first."""

    items: list[AlertRead]
    next_cursor: str | None


class AlertAcknowledgeCreate(BaseModel):
    """An acknowledgement: what was looked at and decided."""

    model_config = {"extra": "forbid"}

    comment: str = Field(min_length=1, max_length=2000)
