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


PLANS = (
    "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
    "WHERE statement LIKE 'SELECT relname FROM pg_class%'"
)


async def _plans_after_repeats(engine_batches: bool, stack: Stack) -> tuple[int, int]:
    """Run one `= ANY($1)` statement ten times on one connection; its plan counts there."""
    engine = make_engine(stack.postgres.url("records"), pool_size=1, batches=engine_batches)
    try:
        async with engine.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            assert raw is not None
            for n in range(10):
                await raw.fetch(
                    "SELECT relname FROM pg_class WHERE oid = ANY($1::oid[])", list(range(n + 1))
                )
            row = await raw.fetchrow(PLANS)
            assert row is not None
            return int(row["generic_plans"]), int(row["custom_plans"])
    finally:
        await engine.dispose()


class TestBatchPlans:
    async def test_a_batch_engine_plans_every_execution_with_its_array(self, stack: Stack) -> None:
        generic, custom = await _plans_after_repeats(True, stack)
        assert (generic, custom) == (0, 10)

    async def test_a_default_engine_would_keep_a_generic_plan(self, stack: Stack) -> None:
        # Why the batch engines need the setting: from the sixth run on, one plan for any array.
        generic, _ = await _plans_after_repeats(False, stack)
        assert generic > 0
