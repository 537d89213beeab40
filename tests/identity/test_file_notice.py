"""The worker's notice that their file is computerised: seen once, the first date kept, traced."""

from __future__ import annotations

import uuid

import httpx
import pytest

from common.devstack import Stack
from tests.helpers import make_user
from tests.identity.support import events

pytestmark = pytest.mark.asyncio
PROBLEM = "application/problem+json"


class TestFileNotice:
    async def test_the_first_sight_is_kept_and_traced_once(
        self, stack: Stack, http: httpx.AsyncClient
    ):
        worker_id = f"w-{uuid.uuid4()}"
        worker = await make_user(http, stack, "worker", worker_id=worker_id)
        base = stack.url("identity")
        me = await http.get(f"{base}/users/me", headers=worker.headers)
        assert me.json()["file_notice_seen_at"] is None
        first = await http.post(f"{base}/users/me/file-notice", headers=worker.headers)
        assert first.status_code == 200, first.text
        seen = first.json()["file_notice_seen_at"]
        assert seen is not None
        again = await http.post(f"{base}/users/me/file-notice", headers=worker.headers)
        assert again.json()["file_notice_seen_at"] == seen
        me = await http.get(f"{base}/users/me", headers=worker.headers)
        assert me.json()["file_notice_seen_at"] == seen
        [event] = events(stack, "file_notice_seen", about=worker.id)
        assert event["worker_id"] == worker_id
        assert event["actor"]["user_id"] == worker.id

    async def test_staff_have_no_notice_and_anonymous_callers_are_401(
        self, stack: Stack, http: httpx.AsyncClient
    ):
        base = stack.url("identity")
        physician = await make_user(http, stack, "physician")
        resp = await http.post(f"{base}/users/me/file-notice", headers=physician.headers)
        assert resp.status_code == 403
        assert resp.headers["content-type"] == PROBLEM
        me = await http.get(f"{base}/users/me", headers=physician.headers)
        assert me.json()["file_notice_seen_at"] is None
        resp = await http.post(f"{base}/users/me/file-notice")
        assert resp.status_code == 401
        assert resp.headers["content-type"] == PROBLEM
