"""Request and response bodies of /users."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from common.rights import Profile
from identity.text import Text

USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]{2,63}$"


def _wards_dated(guardian_of: list[str] | None, birth_dates: dict[str, date] | None) -> None:
    wards = set(guardian_of or ())
    dated = set(birth_dates or ())
    if wards - dated:
        raise ValueError("ward_birth_dates needs the birth date of every ward in guardian_of")
    if dated - wards:
        raise ValueError("ward_birth_dates names a worker that is not in guardian_of")
    today = date.today()
    if any(born > today for born in (birth_dates or {}).values()):
        raise ValueError("a birth date lies in the future")


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
    ward_birth_dates: dict[str, date] = Field(
        default_factory=dict,
        max_length=20,
        description="the birth date of every ward in guardian_of: the link ends at 18",
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

    @model_validator(mode="after")
    def _dated(self) -> UserCreate:
        _wards_dated(self.guardian_of, self.ward_birth_dates)
        return self


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
    ward_birth_dates: dict[str, date] | None = Field(
        default=None,
        max_length=20,
        description="with guardian_of: the birth date of every ward (the link ends at 18)",
    )

    @field_validator("guardian_of")
    @classmethod
    def _ids(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if any(not (1 <= len(v) <= 64) for v in value):
            raise ValueError("worker ids are 1 to 64 characters")
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _dated(self) -> UserUpdate:
        if self.guardian_of is None and self.ward_birth_dates is not None:
            raise ValueError("ward_birth_dates is given with the guardian_of it dates")
        if self.guardian_of is not None:
            _wards_dated(self.guardian_of, self.ward_birth_dates)
        return self


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
    ward_birth_dates: dict[str, date] = {}
    guardian_links_end_on: dict[str, date] = Field(
        default_factory=dict, description="the day each guardian link ends (the ward's 18th)"
    )
    password_changed_at: datetime
    password_expires_at: datetime
    password_change_required: bool = False
    locked_until: datetime | None
    last_login_at: datetime | None
    file_notice_seen_at: datetime | None = Field(
        default=None, description="when the worker first saw that their file is computerised"
    )
    created_at: datetime
    created_by: str | None
    updated_at: datetime
    updated_by: str | None


class PasswordChange(BaseModel):
    """The current password and the new one."""

    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)
