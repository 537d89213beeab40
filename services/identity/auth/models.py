"""Sessions and their rotating refresh tokens."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, Column, DateTime, Integer
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


class LoginFailure(SQLModel, table=True):
    """Failures of a username no account has, so it locks exactly as an account does."""

    __tablename__ = "login_failure"

    username: str = Field(primary_key=True, max_length=64)
    failed_attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    lock_count: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    locked_until: datetime | None = at()
    updated_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, index=True)
    )


class LoginThrottle(SQLModel, table=True):
    """A fixed-window counter of failed logins or refreshes, per client or per account."""

    __tablename__ = "login_throttle"

    key: str = Field(primary_key=True, max_length=160)
    window_start: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, index=True)
    )
    hits: int = Field(sa_column=Column(Integer, nullable=False))
    traced: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
