"""Sessions and their rotating refresh tokens."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from identity.timestamps import at


class Session(SQLModel, table=True):
    """One login: open until logout, revocation, idle timeout or its maximum age."""

    __tablename__ = "session"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    account_id: uuid.UUID = Field(foreign_key="account.id", nullable=False, index=True)
    created_at: datetime = at(nullable=False, default_now=True)
    last_seen_at: datetime = at(nullable=False, default_now=True)
    expires_at: datetime = at(nullable=False)
    ended_at: datetime | None = at()
    end_reason: str | None = Field(default=None, max_length=32)
    client_ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=255)


class RefreshToken(SQLModel, table=True):
    """A single-use refresh token (its SHA-256 only); reuse after rotation ends the session."""

    __tablename__ = "refresh_token"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    session_id: uuid.UUID = Field(foreign_key="session.id", nullable=False, index=True)
    token_hash: str = Field(max_length=64, unique=True, nullable=False)
    created_at: datetime = at(nullable=False, default_now=True)
    used_at: datetime | None = at()
    revoked_at: datetime | None = at()
