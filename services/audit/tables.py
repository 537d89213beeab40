"""The SQLAlchemy Table of a SQLModel table class, typed (SQLModel leaves `__table__` untyped)."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table
from sqlmodel import SQLModel


def table_of(model: type[SQLModel]) -> Table:
    """`model.__table__` as a Table, without a type: ignore at every use."""
    return cast(Table, model.__table__)  # type: ignore[attr-defined]  # SQLModel does not declare __table__
