"""The account table and the password history."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Column, String, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

from common.db import Stamped
from identity.timestamps import at


class Account(Stamped, table=True):
    """A personal account; the lockout state lives on the row so a row lock serialises it."""

    __tablename__ = "account"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    username: str = Field(max_length=64, unique=True, nullable=False)
    display_name: str = Field(max_length=200, nullable=False)
    profile: str = Field(max_length=32, nullable=False, index=True)
    active: bool = Field(default=True, nullable=False)
    worker_id: str | None = Field(default=None, max_length=64, index=True)
    guardian_of: list[str] = Field(
        default_factory=list, sa_column=Column(ARRAY(String(64)), nullable=False)
    )
    # The birth date (ISO) of each ward: a guardian link ends at the ward's majority.
    ward_birth_dates: dict[str, str] = Field(
        default_factory=dict,
        sa_column=Column(JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    )
    password_hash: str = Field(max_length=255, nullable=False)
    password_changed_at: datetime = at(nullable=False, default_now=True)
    failed_attempts: int = Field(default=0, nullable=False)
    lock_count: int = Field(default=0, nullable=False)
    locked_until: datetime | None = at()
    # Every argon2 verification of this account's password, so tests can count them.
    password_checks: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    last_login_at: datetime | None = at()
    # When a worker account first saw the portal's notice that its file is computerised.
    file_notice_seen_at: datetime | None = at()
    # Set when the security officer chose the password: the first login must replace it.
    password_change_required: bool = Field(default=False, nullable=False)


class PasswordHistory(SQLModel, table=True):
    """Every password an account has had (hashes only), newest last."""

    __tablename__ = "password_history"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    account_id: uuid.UUID = Field(foreign_key="account.id", nullable=False, index=True)
    password_hash: str = Field(max_length=255, nullable=False)
    created_at: datetime = at(nullable=False, default_now=True)
