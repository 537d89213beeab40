"""The access_grant table."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from identity.timestamps import at


class AccessGrant(SQLModel, table=True):
    """Access to one worker's file (or all when worker_id is null) until expires_at."""

    __tablename__ = "access_grant"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    grantee_id: uuid.UUID = Field(foreign_key="account.id", nullable=False, index=True)
    worker_id: str | None = Field(default=None, max_length=64)
    reason: str = Field(max_length=1000, nullable=False)
    granted_by: uuid.UUID = Field(foreign_key="account.id", nullable=False)
    created_at: datetime = at(nullable=False, default_now=True)
    expires_at: datetime = at(nullable=False, index=True)
    revoked_at: datetime | None = at()
    revoked_by: uuid.UUID | None = Field(default=None, foreign_key="account.id")
    # Set when the expiry sweeper has traced the grant's end.
    expiry_traced_at: datetime | None = at()
