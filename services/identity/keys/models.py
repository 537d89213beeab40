"""The signing_key table (private keys stay in the database, never in the repository)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from identity.timestamps import at


class SigningKey(SQLModel, table=True):
    """An RS256 key pair; retired keys stay published until their last token has expired."""

    __tablename__ = "signing_key"

    kid: str = Field(primary_key=True, max_length=64)
    algorithm: str = Field(default="RS256", max_length=16, nullable=False)
    private_pem: str = Field(nullable=False)
    public_pem: str = Field(nullable=False)
    created_at: datetime = at(nullable=False, default_now=True)
    retired_at: datetime | None = at()
