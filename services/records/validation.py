"""The base of every request body: unknown fields refused, unstorable characters refused."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

# NUL cannot be stored by PostgreSQL; a lone surrogate cannot even be encoded as UTF-8.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def has_unstorable(value: Any) -> bool:
    """True when a string anywhere in the value holds NUL or a lone surrogate."""
    if isinstance(value, str):
        return UNSTORABLE.search(value) is not None
    if isinstance(value, dict):
        return any(has_unstorable(k) or has_unstorable(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(has_unstorable(v) for v in value)
    return False


class Input(BaseModel):
    """A request body."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        # Refused as bad input here rather than failing in the database later.
        if has_unstorable(data):
            raise ValueError("text must not contain NUL characters or lone surrogates")
        return data


NO_NUL = r"^[^\x00]*$"
