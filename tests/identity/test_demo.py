"""The demo seed creates staff of every profile who can log in, and runs twice harmlessly."""

from __future__ import annotations

import httpx
import pytest

from common.devstack import Stack
from identity import demo
from tests.helpers import login

pytestmark = pytest.mark.asyncio


class TestDemoSeed:
    async def test_seed_is_idempotent_and_usable(self, stack: Stack, http: httpx.AsyncClient):
        shared: dict = {}
        await demo.seed(stack, shared)
        first = shared["users"]
        await demo.seed(stack, shared)
        assert shared["users"] == first
        assert {p: len(v) for p, v in first.items()} == {
            "physician": 2, "assistant": 2, "developer": 1, "helpdesk": 1, "admin_staff": 1,
            "medical_director": 1, "security_officer": 1,
        }  # fmt: skip
        director = first["medical_director"][0]
        tokens = await login(http, stack, director["username"], director["password"])
        me = await http.get(
            f"{stack.url('identity')}/users/me",
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
        )
        assert me.json()["id"] == director["id"]
