"""The demo content loads through the API and loads only once."""

from __future__ import annotations

import httpx
import pytest

from common.devstack import Stack
from register import demo
from tests.helpers import Account

pytestmark = pytest.mark.asyncio


class TestDemoSeed:
    async def test_seed_is_idempotent(
        self, stack: Stack, http: httpx.AsyncClient, reg: str, officer: Account
    ):
        await demo.seed(stack, {"workers": ["demo-w1", "demo-w2"]})
        incidents = (await http.get(f"{reg}/incidents", headers=officer.headers)).json()
        assert sum(i["title"] == demo.MARKER for i in incidents) == 1
        breach = next(i for i in incidents if i["personal_data_breach"] and i["notified_at"])
        assert breach["notified_late"] is False
        await demo.seed(stack, {"workers": ["demo-w1", "demo-w2"]})
        again = (await http.get(f"{reg}/incidents", headers=officer.headers)).json()
        assert len(again) == len(incidents)
        dpia = (await http.get(f"{reg}/dpia", headers=officer.headers)).json()
        assert any(d["status"] == "validated" for d in dpia)
