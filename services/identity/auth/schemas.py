"""Request and response bodies of /auth."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field

from identity.text import Text


class LoginCreate(BaseModel):
    """Credentials."""

    model_config = ConfigDict(extra="forbid")

    username: Text = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class RefreshCreate(BaseModel):
    """A refresh token to exchange (it can be used once)."""

    model_config = ConfigDict(extra="forbid")

    refresh_token: Text = Field(min_length=1, max_length=256)


class TokenRead(BaseModel):
    """An access token (RS256 JWT) and the refresh token of the same session."""

    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type
    expires_in: int
    password_change_required: bool = Field(
        default=False,
        description="the access token (claim pwd_change) works only for POST /users/me/password, "
        "GET /users/me and POST /auth/logout until the password is changed; then refresh",
    )


class SessionRead(BaseModel):
    """The state of the caller's session."""

    active: bool
    session_id: uuid.UUID
    user_id: uuid.UUID
    profile: str
