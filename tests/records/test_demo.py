"""The demo seed runs through the API and leaves files a newcomer can open."""

from __future__ import annotations

import httpx
import pytest

from common.devstack import Stack
from records import demo
from tests.helpers import login

pytestmark = pytest.mark.asyncio


class TestDemoSeed:
    async def test_seed_creates_files_and_worker_logins(
        self, stack: Stack, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
    ):
        monkeypatch.setattr(demo, "WORKERS", 12)
        # Other tests seed the same stack with the demo's own logins.
        monkeypatch.setattr(demo, "WORKER_LOGIN", "records-demo-test.worker{n}")
        shared: dict = {}
        await demo.seed(stack, shared)
        assert len(shared["workers"]) == 12 and shared["employers"]
        account = shared["users"]["worker"][0]
        token = (await login(http, stack, account["username"], account["password"]))["access_token"]
        resp = await http.get(
            f"{stack.url('records')}/me/record", headers={"Authorization": f"Bearer {token}"}
        )
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["worker"]["id"] == shared["workers"][0]
        assert body["exams"] and body["fitness_decisions"]
