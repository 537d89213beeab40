"""Database plumbing: engine made in lifespan, one commit per request, naming conventions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import DateTime, util
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlmodel import Field, SQLModel

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Each service owns a database; one MetaData per process is enough because a process
# serves exactly one service.
SQLModel.metadata.naming_convention = NAMING_CONVENTION


def utcnow() -> datetime:
    """Timezone-aware now, in UTC."""
    return datetime.now(UTC)


class Stamped(SQLModel):
    """Who created a row and when, who changed it last and when."""

    created_at: datetime = Field(
        default_factory=utcnow, sa_type=DateTime(timezone=True), nullable=False
    )
    created_by: str | None = Field(default=None, max_length=64)
    updated_at: datetime = Field(
        default_factory=utcnow, sa_type=DateTime(timezone=True), nullable=False
    )
    updated_by: str | None = Field(default=None, max_length=64)


# sqlalchemy 2.1 names it await_, 2.0 await_only (deprecated from 2.2).
_await = getattr(util, "await_", None) or util.await_only


def ping_in_one_round_trip(engine: AsyncEngine) -> None:
    """Make the pool's pre-ping one `;` on the connection.

    The asyncpg dialect pings with BEGIN, `;` and ROLLBACK, three round trips, for pgbouncer's
    transaction mode, which no service here runs behind. Measured on a history page, the two
    extra round trips were about 1 ms of every request. A failed ping still replaces the
    connection, with every pooled one (a restarted server), as the dialect's own does."""
    dialect = engine.sync_engine.dialect

    def do_ping(dbapi_connection: Any) -> bool:
        try:
            _await(dialect.get_driver_connection(dbapi_connection).fetchrow(";"))
        except Exception:
            return False
        return True

    dialect.do_ping = do_ping  # type: ignore[method-assign]


# For connections whose statements take a batch as an array (`id = ANY($1)`, unnest): plan
# each execution with its array. After five executions PostgreSQL may keep a generic plan
# chosen while the table was small. In the bench's pipeline a sequential scan with a linear
# `= ANY` filter stayed cached as the outbox and the store grew (the relay's published mark
# cost 197.4 ms per batch of 495 rows; the runs are in bench/plan-cache.json).
BATCH_SERVER_SETTINGS = {"plan_cache_mode": "force_custom_plan"}


def make_engine(url: str, pool_size: int = 10, *, batches: bool = False) -> AsyncEngine:
    """An asyncpg engine; called from lifespan, never at import time.

    `batches`: the engine of a worker whose statements carry batches (BATCH_SERVER_SETTINGS)."""
    connect_args: dict[str, Any] = {"timeout": 5, "command_timeout": 30}
    if batches:
        connect_args["server_settings"] = dict(BATCH_SERVER_SETTINGS)
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_timeout=10,
        connect_args=connect_args,
    )
    ping_in_one_round_trip(engine)
    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep objects readable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's session: commits once when the handler returns, rolls back on error."""
    maker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with maker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


# scope="function": the commit happens when the endpoint returns, before the response is
# sent, so nothing leaves the service before its access event is durable.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
