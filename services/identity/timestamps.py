"""Timezone-aware timestamp fields for identity's tables."""

from __future__ import annotations

from typing import Any

from sqlalchemy import DateTime
from sqlmodel import Field

from common.db import utcnow


def at(*, nullable: bool = True, default_now: bool = False, **kwargs: Any) -> Any:
    """A `timestamptz` field; asyncpg refuses aware datetimes in naive columns."""
    if default_now:
        kwargs["default_factory"] = utcnow
    elif nullable:
        kwargs.setdefault("default", None)
    return Field(sa_type=DateTime(timezone=True), nullable=nullable, **kwargs)
