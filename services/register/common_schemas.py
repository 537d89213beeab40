"""Constrained string and list types shared by the register's schemas."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field, StringConstraints


def storable(value: str) -> str:
    """Refuse what PostgreSQL cannot store: NUL characters and unpaired surrogates."""
    if "\x00" in value:
        raise ValueError("text may not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("text is not valid Unicode") from exc
    return value


Storable = AfterValidator(storable)
Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000), Storable
]
Short = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), Storable
]
Condition = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), Storable
]
Ident = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64), Storable
]
# The same shape audit accepts for worker ids in its paths.
WorkerRef = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$"
    ),
]
Items = Annotated[list[Short], Field(max_length=50)]
NonEmptyItems = Annotated[list[Short], Field(min_length=1, max_length=50)]


def plausible_moment(value: datetime) -> datetime:
    """Keep moments within years 2000-2999 so that UTC conversion and arithmetic cannot overflow."""
    try:
        utc = value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("moment out of range") from exc
    if not 2000 <= utc.year <= 2999:
        raise ValueError("moment must fall between the years 2000 and 2999")
    return utc


Moment = Annotated[AwareDatetime, AfterValidator(plausible_moment)]
