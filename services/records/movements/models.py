"""Record movements (print-outs, exports, imports) and the service's bundle signing key."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Column, DateTime, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from common.db import utcnow


class Movement(SQLModel, table=True):
    """One movement of a file out of (or into) the service."""

    __tablename__ = "movement"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    worker_id: uuid.UUID = Field(foreign_key="worker.id", nullable=False, index=True)
    kind: str = Field(max_length=16, nullable=False)
    occurred_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    actor_id: str = Field(max_length=64, nullable=False)
    actor_name: str = Field(max_length=200, nullable=False)
    actor_profile: str = Field(max_length=32, nullable=False)
    details: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}")
    )


class SigningKey(SQLModel, table=True):
    """The Ed25519 key export bundles are signed with; generated at first start."""

    __tablename__ = "bundle_key"

    kid: str = Field(max_length=64, primary_key=True)
    private_pem: str = Field(sa_column=Column(Text, nullable=False))
    public_key: str = Field(max_length=64, nullable=False)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
