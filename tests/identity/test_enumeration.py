"""Unknown user and wrong password look the same: status, body, and response time."""

from __future__ import annotations

import statistics
import time

import httpx
import pytest

from common.devstack import Stack
from tests.helpers import PASSWORD
from tests.identity.support import assert_problem, fresh_user, raw_login

pytestmark = pytest.mark.asyncio


class TestSameAnswer:
    async def test_same_status_and_body(self, stack: Stack, http: httpx.AsyncClient):
        user = await fresh_user(http, stack)
        wrong = await raw_login(http, stack, user.username, "Wrong-Pass-123!")
        unknown = await raw_login(http, stack, "nobody-by-that-name", "Wrong-Pass-123!")
        assert_problem(wrong, 401)
        assert_problem(unknown, 401)
        assert wrong.json() == unknown.json()
        assert wrong.headers.get("www-authenticate") == unknown.headers.get("www-authenticate")

    async def test_inactive_account_gets_the_same_answer(
        self, stack: Stack, http: httpx.AsyncClient
    ):
        from tests.identity.support import officer

        user = await fresh_user(http, stack)
        so = await officer(http, stack)
        resp = await http.patch(
            f"{stack.url('identity')}/users/{user.id}", json={"active": False}, headers=so.headers
        )
        assert resp.status_code == 200
        inactive = await raw_login(http, stack, user.username, PASSWORD)
        unknown = await raw_login(http, stack, "nobody-by-that-name", PASSWORD)
        assert inactive.status_code == unknown.status_code == 401
        assert inactive.json() == unknown.json()


class TestTiming:
    async def test_unknown_user_costs_as_much_as_a_wrong_password(
        self, stack: Stack, http: httpx.AsyncClient
    ):
        user = await fresh_user(http, stack)
        known, unknown = [], []
        for i in range(12):
            t0 = time.perf_counter()
            await raw_login(http, stack, f"ghost-{i}-nobody", "Wrong-Pass-123!")
            unknown.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            await raw_login(http, stack, user.username, "Wrong-Pass-123!")
            known.append(time.perf_counter() - t0)
            # A success resets the failure count so the account never locks here.
            assert (await raw_login(http, stack, user.username, PASSWORD)).status_code == 200
        k, u = statistics.median(known), statistics.median(unknown)
        # Without the dummy hash the unknown path would skip argon2 (~30 ms) entirely.
        assert abs(k - u) < max(0.5 * k, 0.015), (k, u)
        assert u > 0.5 * k, (k, u)
