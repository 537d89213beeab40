"""Body of GET /profiles."""

from __future__ import annotations

from pydantic import BaseModel


class ProfileRead(BaseModel):
    """A profile with its scope for every right."""

    code: str
    label: str
    rights: dict[str, str]
