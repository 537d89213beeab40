"""make backup / make restore: a round trip into a fresh server keeps every row of every table."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from common.backup import backup, restore, verify
from common.db import make_sessionmaker
from common.devstack import SERVICES, Postgres, Stack, StackError, free_port
from common.events import EventDraft
from common.outbox import record_events

pytestmark = pytest.mark.asyncio


def fingerprint(server: Postgres, db: str) -> dict[str, str]:
    """Row count and an order-independent digest of every table of a database."""
    tables = server.psql(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1", db
    ).split()
    out = {}
    for table in tables:
        out[table] = server.psql(
            "SELECT count(*) || ':' || "
            f"coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM \"{table}\" t",
            db,
        ).strip()
    return out


class TestRoundTrip:
    async def test_every_row_survives(self, stack: Stack, tmp_path: Path):
        engine = create_async_engine(stack.postgres.url("records"))
        async with make_sessionmaker(engine)() as session:
            events = [
                EventDraft(source="records", action="read", actor=None, worker_id=str(uuid.uuid4()))
                for _ in range(300)
            ]
            await record_events(session, events)
            await session.commit()
        await engine.dispose()

        # Relays and the consumer write on their own (heartbeats, positions, checkpoints):
        # pause them so the fingerprint and the dump see the same rows.
        writers = [name for name in stack.children if name not in stack.ports.services]
        for name in writers:
            stack.kill_child(name)
        try:
            before = {db: fingerprint(stack.postgres, db) for db in SERVICES}
            assert before["records"]["outbox"].split(":")[0] != "0"
            target = backup(stack.postgres.port, tmp_path / "backup")
        finally:
            stack.start_children(writers)

        fresh = Postgres(tmp_path / "fresh", free_port(), durable=False)
        fresh.start()
        try:
            restore(fresh.port, target)
            after = {db: fingerprint(fresh, db) for db in SERVICES}
        finally:
            fresh.stop()
        for db in SERVICES:
            assert after[db].keys() == before[db].keys(), db
            for table, print_ in before[db].items():
                assert after[db][table] == print_, f"{db}.{table}"


class TestTamperedBackup:
    async def test_altered_dump_is_refused(self, stack: Stack, tmp_path: Path):
        target = backup(stack.postgres.port, tmp_path / "b", databases=("register",))
        dump = target / "register.dump"
        data = bytearray(dump.read_bytes())
        data[len(data) // 2] ^= 0xFF
        dump.write_bytes(bytes(data))
        with pytest.raises(StackError, match="checksum"):
            verify(target)

    async def test_missing_dump_is_refused(self, stack: Stack, tmp_path: Path):
        target = backup(stack.postgres.port, tmp_path / "c", databases=("register",))
        (target / "register.dump").unlink()
        with pytest.raises(StackError, match="missing"):
            verify(target)
