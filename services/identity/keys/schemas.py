"""Bodies of the key endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class JwksRead(BaseModel):
    """A JSON Web Key Set (RFC 7517)."""

    keys: list[dict[str, Any]]


class KeyRead(BaseModel):
    """A signing key's public identity."""

    kid: str
    algorithm: str
    created_at: datetime
