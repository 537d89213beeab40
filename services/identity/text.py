"""Text inputs: PostgreSQL refuses NUL characters, so they are refused at the edge as 422."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator


def _printable(value: str) -> str:
    if any(ord(c) < 32 and c not in "\t\n\r" for c in value) or "\x7f" in value:
        raise ValueError("control characters are not allowed")
    return value


Text = Annotated[str, AfterValidator(_printable)]
