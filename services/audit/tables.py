"""The SQLAlchemy Table of a SQLModel table class, typed (SQLModel leaves `__table__` untyped),
and the session's own asyncpg connection for the few statements that are hot."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import asyncpg
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel


def table_of(model: type[SQLModel]) -> Table:
    """`model.__table__` as a Table, without a type: ignore at every use."""
    return cast(Table, model.__table__)  # type: ignore[attr-defined]  # SQLModel does not declare __table__


class Row(asyncpg.Record):
    """A record read by name as an attribute too, as SQLAlchemy's rows are."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


async def driver(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under the session, in its transaction if one has begun.

    For a hot read: SQLAlchemy spends about three times asyncpg's own CPU on a statement
    (building, caching and processing rows), measured on a history page's queries."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return cast(asyncpg.Connection, raw.driver_connection)


async def copy_rows(
    session: AsyncSession, table: str, columns: Sequence[str], records: list[tuple[Any, ...]]
) -> None:
    """COPY rows into a table in the session's transaction (a batch's cheapest insert)."""
    if not records:
        return
    await (await driver(session)).copy_records_to_table(
        table, records=records, columns=list(columns)
    )
