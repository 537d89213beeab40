"""The audit service's own events go the one event path: typed drafts with the caller's client,
and every refusal of the grid in audit leaves a denied event."""

from __future__ import annotations

import asyncio
import json
import uuid

import asyncpg
import httpx
import pytest

from common.devstack import Stack
from tests.audit.support import dsn
from tests.helpers import eventually, make_user

pytestmark = pytest.mark.asyncio
AGENT = "own-trail-test/1.0"


class TestOwnTrail:
    async def test_worker_asking_for_another_history_leaves_a_denied_event(
        self, stack: Stack, http: httpx.AsyncClient, db: asyncpg.Connection
    ):
        a_file, b_file = f"w-{uuid.uuid4()}", f"w-{uuid.uuid4()}"
        worker_a = await make_user(http, stack, "worker", worker_id=a_file)
        await make_user(http, stack, "worker", worker_id=b_file)
        director = await make_user(http, stack, "medical_director")
        resp = await http.get(
            f"{stack.url('audit')}/access-history/{b_file}",
            headers={**worker_a.headers, "user-agent": AGENT},
        )
        assert resp.status_code == 403

        row = await eventually(
            lambda: db.fetchrow(
                "SELECT body FROM event WHERE source = 'audit' AND outcome = 'denied' "
                "AND actor_user_id = $1",
                worker_a.id,
            )
        )
        body = json.loads(row["body"])
        assert body["worker_id"] == b_file
        assert body["client"]["user_agent"] == AGENT
        assert body["client"]["ip"]

        async def denied_in_activity() -> bool:
            resp = await http.get(
                f"{stack.url('audit')}/actor-activity",
                params={"profile": "worker", "limit": 500},
                headers=director.headers,
            )
            assert resp.status_code == 200, resp.text
            return any(a["user_id"] == worker_a.id and a["denied"] >= 1 for a in resp.json())

        await eventually(denied_in_activity)

    async def test_history_read_carries_the_callers_client(
        self, stack: Stack, http: httpx.AsyncClient, db: asyncpg.Connection
    ):
        worker_id = f"w-{uuid.uuid4()}"
        director = await make_user(http, stack, "medical_director")
        resp = await http.get(
            f"{stack.url('audit')}/access-history/{worker_id}",
            headers={**director.headers, "user-agent": AGENT},
        )
        assert resp.status_code == 200, resp.text
        row = await eventually(
            lambda: db.fetchrow(
                "SELECT body FROM event WHERE source = 'audit' AND action = 'read_history' "
                "AND actor_user_id = $1",
                director.id,
            )
        )
        body = json.loads(row["body"])
        assert body["worker_id"] == worker_id
        assert body["client"]["user_agent"] == AGENT
        assert body["actor"]["display_name"] == director.display_name


class TestPendingDraftsNotifyTheConsumer:
    async def test_a_history_read_notifies_at_commit_and_is_chained(
        self, stack: Stack, http: httpx.AsyncClient, db: asyncpg.Connection
    ):
        worker_id = f"w-{uuid.uuid4()}"
        worker = await make_user(http, stack, "worker", worker_id=worker_id)
        listener = await asyncpg.connect(dsn(stack))
        notified = asyncio.Event()
        await listener.add_listener("audit_pending", lambda *_: notified.set())
        try:
            resp = await http.get(f"{stack.url('audit')}/me/access-history", headers=worker.headers)
            assert resp.status_code == 200
            # pending_event's trigger notified when the request's transaction committed.
            await asyncio.wait_for(notified.wait(), 10)
        finally:
            await listener.close()
        await eventually(
            lambda: db.fetchrow(
                "SELECT 1 FROM event WHERE action = 'read_history' AND worker_id = $1", worker_id
            )
        )
