"""Request and response bodies of /access-grants."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from identity.text import Text


class AccessGrantCreate(BaseModel):
    """A grant request: who, which file (all when absent), why, how long."""

    model_config = ConfigDict(extra="forbid")

    grantee_id: uuid.UUID
    worker_id: Text | None = Field(default=None, min_length=1, max_length=64)
    reason: Text = Field(min_length=5, max_length=1000)
    minutes: int = Field(ge=1, le=525_600)

    @field_validator("reason")
    @classmethod
    def _meaningful(cls, value: str) -> str:
        value = value.strip()
        if len(value) < 5:
            raise ValueError("a reason of at least 5 characters is required")
        return value


class AccessGrantRead(BaseModel):
    """A grant and its state."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    grantee_id: uuid.UUID
    worker_id: str | None
    reason: str
    granted_by: uuid.UUID
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    revoked_by: uuid.UUID | None
    status: str = "active"
