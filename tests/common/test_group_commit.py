"""GroupCommit: concurrent read traces share commits, and a failed commit fails every waiter."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from common.db import make_sessionmaker
from common.devstack import Stack
from common.errors import Problem
from common.events import EventDraft, Resource
from common.migrate import upgrade
from common.outbox import GroupCommit

pytestmark = pytest.mark.asyncio


def read_event() -> EventDraft:
    """One read trace of a random worker."""
    return EventDraft(
        source="records",
        action="read",
        actor=None,
        worker_id=str(uuid.uuid4()),
        resource=Resource(type="worker", part="record"),
    )


@pytest.fixture
async def database(stack: Stack) -> AsyncIterator[str]:
    """A private database with the outbox tables."""
    name = f"group_{uuid.uuid4().hex[:8]}"
    stack.postgres.psql(f'CREATE DATABASE "{name}"')
    url = stack.postgres.url(name)
    # The outbox as the records service's migrations make it.
    await asyncio.to_thread(upgrade, "records", url)
    yield url
    stack.postgres.psql(f'DROP DATABASE "{name}" WITH (FORCE)')


class TestCoalescing:
    async def test_every_trace_is_committed_before_its_caller_returns(self, database: str):
        engine = create_async_engine(database, pool_size=1, max_overflow=0)
        writer = GroupCommit(make_sessionmaker(engine))
        writer.start()
        pool = await asyncpg.create_pool(database.replace("+asyncpg", ""), min_size=1, max_size=4)
        try:
            events = [read_event() for _ in range(200)]

            async def one(event: EventDraft) -> bool:
                await writer.record([event])
                # Visible from another connection the moment record() returns: committed.
                found = await pool.fetchval(
                    "SELECT count(*) FROM outbox WHERE event_id = $1",
                    event.event_id,
                )
                return found == 1

            assert all(await asyncio.gather(*(one(e) for e in events)))
            transactions = await pool.fetchval("SELECT count(DISTINCT xmin::text) FROM outbox")
            assert await pool.fetchval("SELECT count(*) FROM outbox") == 200
            assert transactions < 200, "concurrent traces shared commits"
        finally:
            await writer.close()
            await pool.close()
            await engine.dispose()

    async def test_idle_writer_adds_no_wait(self, database: str):
        engine = create_async_engine(database)
        writer = GroupCommit(make_sessionmaker(engine))
        writer.start()
        try:
            for _ in range(5):
                await asyncio.wait_for(writer.record([read_event()]), 5)
        finally:
            await writer.close()
            await engine.dispose()


class TestFailure:
    async def test_a_failed_commit_fails_every_waiter_and_the_writer_recovers(
        self, stack: Stack, database: str
    ):
        role = f"no_outbox_{uuid.uuid4().hex[:6]}"
        name = database.rsplit("/", 1)[1]
        stack.postgres.psql(
            f"CREATE ROLE {role} LOGIN; GRANT USAGE ON SCHEMA public TO {role}; "
            f"GRANT SELECT ON outbox TO {role};",
            name,
        )
        engine = create_async_engine(stack.postgres.url(name, role))
        writer = GroupCommit(make_sessionmaker(engine))
        writer.start()
        try:
            results = await asyncio.gather(
                *(writer.record([read_event()]) for _ in range(20)), return_exceptions=True
            )
            assert all(isinstance(r, DBAPIError) for r in results), results
            stack.postgres.psql(
                f"GRANT INSERT ON outbox TO {role}; GRANT SELECT ON outbox_cursor TO {role}; "
                f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role};",
                name,
            )
            await writer.record([read_event()])
        finally:
            await writer.close()
            await engine.dispose()
            stack.postgres.psql(
                f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}; "
                f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {role}; "
                f"REVOKE ALL ON SCHEMA public FROM {role}; DROP ROLE {role};",
                name,
            )

    async def test_a_request_waiting_at_shutdown_gets_a_503(self, database: str):
        engine = create_async_engine(database)
        writer = GroupCommit(make_sessionmaker(engine))
        writer.start()
        blocker = await asyncpg.connect(database.replace("+asyncpg", ""))
        try:
            async with blocker.transaction():
                await blocker.execute("LOCK TABLE outbox IN ACCESS EXCLUSIVE MODE")
                waiting = asyncio.create_task(writer.record([read_event()]))
                await asyncio.sleep(0.5)
                assert not waiting.done(), "the commit waits for the lock"
                await writer.close()
                with pytest.raises(Problem) as raised:
                    await asyncio.wait_for(waiting, 5)
                assert raised.value.status == 503
        finally:
            await blocker.close()
            await engine.dispose()
