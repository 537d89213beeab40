"""The SQLAlchemy Table of a SQLModel table class, typed (SQLModel leaves `__table__` untyped)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel


def table_of(model: type[SQLModel]) -> Table:
    """`model.__table__` as a Table, without a type: ignore at every use."""
    return cast(Table, model.__table__)  # type: ignore[attr-defined]  # SQLModel does not declare __table__


async def copy_rows(
    session: AsyncSession, table: str, columns: Sequence[str], records: list[tuple[Any, ...]]
) -> None:
    """COPY rows into a table in the session's transaction (a batch's cheapest insert)."""
    if not records:
        return
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]  # asyncpg's connection, untyped in SQLAlchemy
        table, records=records, columns=list(columns)
    )
