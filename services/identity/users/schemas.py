"""Request and response bodies of /users."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from common.rights import Profile
from identity.text import Text

USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]{2,63}$"


class UserCreate(BaseModel):
    """A new personal account (created by the security officer)."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(pattern=USERNAME_PATTERN, description="3-64 of A-Z a-z 0-9 . _ @ -")
    display_name: Text = Field(min_length=1, max_length=200)
    profile: Profile
    password: str = Field(min_length=1, max_length=1024)
    worker_id: Text | None = Field(
        default=None, min_length=1, max_length=64, description="worker accounts: their file"
    )
    guardian_of: list[Text] = Field(
        default_factory=list,
        max_length=20,
        description="worker-profile guardian accounts: the minors' files they may see",
    )
    password_change_required: bool = Field(
        default=True,
        description="the first login must change the password; false is accepted in the "
        "development environment only (demo and benchmark accounts)",
    )

    @field_validator("display_name")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @field_validator("guardian_of")
    @classmethod
    def _ids(cls, value: list[str]) -> list[str]:
        if any(not (1 <= len(v) <= 64) for v in value):
            raise ValueError("worker ids are 1 to 64 characters")
        return list(dict.fromkeys(value))


class UserUpdate(BaseModel):
    """A change of profile, activation or display name (security officer)."""

    model_config = ConfigDict(extra="forbid")

    profile: Profile | None = None
    active: bool | None = None
    display_name: Text | None = Field(default=None, min_length=1, max_length=200)
    guardian_of: list[Text] | None = Field(
        default=None,
        max_length=20,
        description="worker-profile accounts: replace the minors' files a guardian may see",
    )

    @field_validator("guardian_of")
    @classmethod
    def _ids(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if any(not (1 <= len(v) <= 64) for v in value):
            raise ValueError("worker ids are 1 to 64 characters")
        return list(dict.fromkeys(value))


class UserRead(BaseModel):
    """An account as shown to itself and to the security officer."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    username: str
    display_name: str
    profile: str
    active: bool
    worker_id: str | None
    guardian_of: list[str]
    password_changed_at: datetime
    password_expires_at: datetime
    password_change_required: bool = False
    locked_until: datetime | None
    last_login_at: datetime | None
    created_at: datetime
    created_by: str | None
    updated_at: datetime
    updated_by: str | None


class PasswordChange(BaseModel):
    """The current password and the new one."""

    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)
