"""The engines' pre-ping: one round trip, and a dead connection is still replaced."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import text

from common.db import make_engine
from common.devstack import Stack

pytestmark = pytest.mark.asyncio


async def _last_query(stack: Stack, pid: int) -> str:
    conn = await asyncpg.connect(stack.postgres.url("records").replace("+asyncpg", ""))
    try:
        return str(await conn.fetchval("SELECT query FROM pg_stat_activity WHERE pid = $1", pid))
    finally:
        await conn.close()


class TestPrePing:
    async def test_a_pooled_connection_is_pinged_with_one_statement(self, stack: Stack) -> None:
        engine = make_engine(stack.postgres.url("records"), pool_size=1)
        try:
            async with engine.connect() as conn:
                pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            # Checked out again: pinged before it is handed over, nothing executed yet.
            async with engine.connect() as conn:
                last = await _last_query(stack, pid)
                assert last == ";", f"the ping ran {last!r} (the dialect's is BEGIN ; ROLLBACK)"
                again = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            assert again == pid
        finally:
            await engine.dispose()

    async def test_a_connection_the_server_closed_is_replaced(self, stack: Stack) -> None:
        engine = make_engine(stack.postgres.url("records"), pool_size=1)
        try:
            async with engine.connect() as conn:
                pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            await asyncio.to_thread(
                stack.postgres.psql, f"SELECT pg_terminate_backend({pid})", "records"
            )
            async with engine.connect() as conn:
                fresh = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            assert fresh != pid
        finally:
            await engine.dispose()
