"""Append-only store, tamper evidence, signed checkpoints, replay of projections."""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
import uuid
from datetime import datetime

import asyncpg
import httpx
import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from audit.core.hashing import checkpoint_message
from common.devstack import REPO, Stack
from common.events import format_time
from tests.audit.support import (
    Events,
    SignedProducer,
    care,
    dsn,
    integrity,
    intruder,
    publish,
    staff,
    stored,
)
from tests.helpers import Account, admin, eventually, make_user

pytestmark = pytest.mark.asyncio
# When a row was written, not what it says: a replay writes it again later.
WHEN_PROJECTED = frozenset({"projected_at"})
PROJECTIONS = {
    "access_entry": "position",
    "actor_activity": "user_id",
    "alert": "id",
    "alert_event": "alert_id, event_id",
    "gap": "id",
    "source_stat": "source",
}


@pytest.fixture(scope="module")
async def director(stack: Stack, http: httpx.AsyncClient) -> Account:
    """A medical director."""
    return await make_user(http, stack, "medical_director")


@pytest.fixture(scope="module")
async def filled(db: asyncpg.Connection, producer: SignedProducer, events: Events) -> list:
    """A few stored events to tamper with."""
    worker = f"w-{uuid.uuid4()}"
    batch = [await events.make(worker_id=worker, actor=staff(), details=care()) for _ in range(6)]
    await publish(producer, *batch)
    await eventually(lambda: stored(db, *batch))
    return batch


class TestAppendOnly:
    @pytest.mark.parametrize(
        "sql",
        [
            "UPDATE event SET action = 'read' WHERE position = 1",
            "DELETE FROM event WHERE position = 1",
            "TRUNCATE event",
            "UPDATE checkpoint SET hash = 'x'",
            "DELETE FROM checkpoint",
        ],
    )
    async def test_app_role_cannot_rewrite(self, stack: Stack, filled: list, sql: str):
        conn = await asyncpg.connect(dsn(stack, "audit_app"))
        try:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(sql)
        finally:
            await conn.close()

    @pytest.mark.parametrize(
        "sql",
        [
            "UPDATE event SET action = 'read' WHERE position = 1",
            "DELETE FROM event WHERE position = 1",
            "TRUNCATE event",
        ],
    )
    async def test_trigger_refuses_even_the_owner(
        self, db: asyncpg.Connection, filled: list, sql: str
    ):
        with pytest.raises(asyncpg.PostgresError, match="append-only"):
            await db.execute(sql)

    async def test_app_role_may_append_and_read(self, stack: Stack, filled: list):
        conn = await asyncpg.connect(dsn(stack, "audit_app"))
        try:
            assert await conn.fetchval("SELECT count(*) FROM event") >= len(filled)
        finally:
            await conn.close()


class TestTamperEvidence:
    async def test_intact_store_verifies(
        self, stack: Stack, http: httpx.AsyncClient, director: Account, filled: list
    ):
        report = await integrity(stack, http, director)
        assert report["ok"] is True, report
        assert report["first_broken"] is None
        assert report["events_checked"] >= len(filled)

    async def _target(self, db: asyncpg.Connection, event) -> int:
        return int(
            await db.fetchval("SELECT position FROM event WHERE event_id=$1", event.event_id)
        )

    @pytest.mark.parametrize(
        ("change", "reason"),
        [
            ("UPDATE event SET body = replace(body, '\"read\"', '\"search\"') WHERE position = $1",
             "content does not match"),
            ("UPDATE event SET worker_id = 'someone-else' WHERE position = $1", "column worker_id"),
            ("UPDATE event SET actor_profile = 'medical_director' WHERE position = $1",
             "column actor_profile"),
            ("UPDATE event SET hash = repeat('a', 64) WHERE position = $1", "content does not"),
        ],
    )  # fmt: skip
    async def test_modified_row_is_flagged(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        db: asyncpg.Connection,
        director: Account,
        filled: list,
        change: str,
        reason: str,
    ):
        position = await self._target(db, filled[2])
        async with intruder(db):
            original = await db.fetchrow("SELECT * FROM event WHERE position = $1", position)
            await db.execute(change, position)
            try:
                report = await integrity(stack, http, director)
            finally:
                await db.execute(
                    "UPDATE event SET body=$2, worker_id=$3, actor_profile=$4, hash=$5 "
                    "WHERE position=$1",
                    position,
                    original["body"],
                    original["worker_id"],
                    original["actor_profile"],
                    original["hash"],
                )
        assert report["ok"] is False
        assert report["first_broken"]["position"] == position
        assert reason in report["first_broken"]["reason"]
        assert (await integrity(stack, http, director))["ok"] is True

    async def test_rehashed_row_breaks_the_next_link(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        db: asyncpg.Connection,
        director: Account,
        filled: list,
    ):
        position = await self._target(db, filled[1])
        async with intruder(db):
            original = await db.fetchval("SELECT hash FROM event WHERE position = $1", position)
            # A careful intruder recomputes nothing of the chain after it: the next link shows.
            await db.execute(
                "UPDATE event SET hash = repeat('b', 64) WHERE position = $1", position
            )
            try:
                report = await integrity(stack, http, director)
            finally:
                await db.execute(
                    "UPDATE event SET hash = $2 WHERE position = $1", position, original
                )
        assert report["broken_links"] >= 2
        assert report["first_broken"]["position"] == position

    async def test_deleted_row_is_flagged(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        db: asyncpg.Connection,
        director: Account,
        filled: list,
    ):
        position = await self._target(db, filled[3])
        async with intruder(db):
            row = await db.fetchrow("SELECT * FROM event WHERE position = $1", position)
            await db.execute("DELETE FROM event WHERE position = $1", position)
            try:
                report = await integrity(stack, http, director)
            finally:
                columns = list(row.keys())
                await db.execute(
                    f"INSERT INTO event ({', '.join(columns)}) VALUES "
                    f"({', '.join(f'${i + 1}' for i in range(len(columns)))})",
                    *row.values(),
                )
        assert report["ok"] is False
        assert report["first_broken"]["position"] == position
        assert "missing" in report["first_broken"]["reason"]
        assert (await integrity(stack, http, director))["ok"] is True

    async def test_inserted_row_is_flagged(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        db: asyncpg.Connection,
        director: Account,
        events: Events,
        filled: list,
    ):
        forged = await events.make(worker_id=f"w-{uuid.uuid4()}", actor=staff())
        async with intruder(db):
            head = await db.fetchrow(
                "SELECT position, hash FROM event ORDER BY position DESC LIMIT 1"
            )
            position = head["position"] + 1
            await db.execute(
                "INSERT INTO event (position, event_id, source, source_seq, occurred_at, "
                "recorded_at, worker_id, action, outcome, body, prev_hash, hash) VALUES "
                "($1, $2, 'records', $3, now(), now(), $4, 'read', 'success', $5, $6, $7)",
                position,
                forged.event_id,
                forged.source_seq,
                forged.worker_id,
                forged.to_json().decode(),
                head["hash"],
                "c" * 64,
            )
            try:
                report = await integrity(stack, http, director)
            finally:
                await db.execute("DELETE FROM event WHERE position = $1", position)
        assert report["ok"] is False
        assert report["first_broken"]["position"] == position
        assert (await integrity(stack, http, director))["ok"] is True


class TestCheckpoints:
    async def test_public_keys_and_signed_heads(
        self, stack: Stack, http: httpx.AsyncClient, filled: list
    ):
        base = stack.url("audit")
        checkpoints = await eventually(lambda: _json(http, f"{base}/checkpoints"), timeout=30)
        keys = {k["key_id"]: k for k in (await http.get(f"{base}/checkpoints/public-keys")).json()}
        cp = checkpoints[0]
        key = load_pem_public_key(keys[cp["key_id"]]["public_key_pem"].encode())
        signed_at = format_time(datetime.fromisoformat(cp["signed_at"]))
        key.verify(  # raises when the signature does not hold
            base64.b64decode(cp["signature"]),
            checkpoint_message(cp["position"], cp["hash"], signed_at, cp["key_id"]),
        )

    async def test_removing_the_tail_is_caught_by_the_checkpoint(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        db: asyncpg.Connection,
        director: Account,
        filled: list,
    ):
        async def covered() -> bool:
            head = await db.fetchval("SELECT max(position) FROM event")
            signed = await db.fetchval("SELECT max(position) FROM checkpoint")
            return head == signed

        for _ in range(5):
            await eventually(covered, timeout=40)
            async with intruder(db):
                if not await covered():
                    continue
                row = await db.fetchrow("SELECT * FROM event ORDER BY position DESC LIMIT 1")
                await db.execute("DELETE FROM event WHERE position = $1", row["position"])
                try:
                    report = await integrity(stack, http, director)
                finally:
                    columns = list(row.keys())
                    await db.execute(
                        f"INSERT INTO event ({', '.join(columns)}) VALUES "
                        f"({', '.join(f'${i + 1}' for i in range(len(columns)))})",
                        *row.values(),
                    )
            break
        assert report["ok"] is False
        assert "removed" in report["checkpoint_problem"]
        assert (await integrity(stack, http, director))["ok"] is True


async def _json(http: httpx.AsyncClient, url: str):
    resp = await http.get(url)
    return resp.json() if resp.status_code == 200 else None


async def snapshot(db: asyncpg.Connection) -> tuple[int, dict]:
    """Every projection row, and the store head they were read at."""
    async with db.transaction(isolation="repeatable_read"):
        head = await db.fetchval("SELECT max(position) FROM event")
        tables = {
            t: [
                tuple(v for k, v in r.items() if k not in WHEN_PROJECTED)
                for r in await db.fetch(f"SELECT * FROM {t} ORDER BY {key}")
            ]
            for t, key in PROJECTIONS.items()
        }
    return head, tables


class TestReplay:
    async def _quiet_snapshot(self, db: asyncpg.Connection) -> tuple[int, dict]:
        # The live projections are read when no pending work is left for the consumer.
        await eventually(lambda: _no_pending(db))
        return await snapshot(db)

    async def test_rebuild_endpoint_reproduces_live_projections(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        db: asyncpg.Connection,
        director: Account,
        filled: list,
    ):
        for _ in range(3):
            head, live = await self._quiet_snapshot(db)
            resp = await http.post(
                f"{stack.url('audit')}/admin/rebuild-projections", headers=director.headers
            )
            assert resp.status_code == 200, resp.text
            after_head, rebuilt = await snapshot(db)
            if after_head == head:
                break
        assert resp.json()["events_replayed"] >= head
        assert sum(len(v) for v in live.values()) > 0
        for table in PROJECTIONS:
            assert rebuilt[table] == live[table], table

    async def test_cli_rebuild(self, stack: Stack, db: asyncpg.Connection, filled: list):
        for _ in range(3):
            head, live = await self._quiet_snapshot(db)
            env = stack.env()
            proc = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "audit.projections", "rebuild"],
                env=env | {"PYTHONPATH": os.environ.get("PYTHONPATH", "")},
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert proc.returncode == 0, proc.stderr
            after_head, rebuilt = await snapshot(db)
            if after_head == head:
                break
        assert "rebuilt from" in proc.stdout
        assert rebuilt == live

    async def test_rebuild_is_for_the_committee(self, stack: Stack, http: httpx.AsyncClient):
        physician = await make_user(http, stack, "physician")
        resp = await http.post(
            f"{stack.url('audit')}/admin/rebuild-projections", headers=physician.headers
        )
        assert resp.status_code == 403
        officer = await admin(http, stack)
        assert (
            await http.get(f"{stack.url('audit')}/actor-activity", headers=officer.headers)
        ).status_code == 200


async def _no_pending(db: asyncpg.Connection) -> bool:
    if await db.fetchval("SELECT count(*) FROM pending_event"):
        return False
    folded = await db.fetchval(
        "SELECT position FROM projection_position WHERE name = 'projections'"
    )
    return bool(folded == await db.fetchval("SELECT coalesce(max(position), 0) FROM event"))
