"""Three-failure lockout: no race, no password check while locked, reset, unlock, doubling."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from common.devstack import Stack
from tests.helpers import PASSWORD, make_user
from tests.identity.support import (
    assert_problem,
    events,
    fresh_user,
    officer,
    password_checks,
    raw_login,
    sql,
)

pytestmark = pytest.mark.asyncio


class TestLockoutRace:
    async def test_hundred_concurrent_wrong_attempts_check_the_password_three_times(
        self, stack: Stack, http: httpx.AsyncClient
    ):
        user = await fresh_user(http, stack)
        checks_before = password_checks(stack, user.id)
        async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=100)) as c:
            responses = await asyncio.gather(
                *(raw_login(c, stack, user.username, f"Wrong-Guess-{i}!") for i in range(100))
            )
        statuses = sorted(r.status_code for r in responses)
        assert statuses.count(401) == 3, statuses
        assert statuses.count(423) == 97, statuses
        assert password_checks(stack, user.id) - checks_before == 3
        failed = events(stack, "login_failed", about=user.id)
        assert len(failed) == 3
        assert [e["details"]["consecutive_failures"] for e in failed] == [1, 2, 3]
        assert len(events(stack, "lockout", about=user.id)) == 1
        locked = next(r for r in responses if r.status_code == 423)
        assert 0 < int(locked.headers["Retry-After"]) <= 900

    async def test_correct_password_on_locked_account_is_refused_unchecked(
        self, stack: Stack, http: httpx.AsyncClient
    ):
        user = await fresh_user(http, stack)
        for _ in range(3):
            assert_problem(await raw_login(http, stack, user.username, "Wrong-Pass-123!"), 401)
        checks = password_checks(stack, user.id)
        resp = await raw_login(http, stack, user.username, PASSWORD)
        body = assert_problem(resp, 423)
        assert body["type"].endswith("/account-locked")
        assert 890 <= int(resp.headers["Retry-After"]) <= 900
        assert password_checks(stack, user.id) == checks


class TestSuccessResetsTheCount:
    async def test_two_failures_then_success_then_two_failures_do_not_lock(
        self, stack: Stack, http: httpx.AsyncClient
    ):
        user = await fresh_user(http, stack)
        for _ in range(2):
            assert_problem(await raw_login(http, stack, user.username, "Wrong-Pass-123!"), 401)
        assert (await raw_login(http, stack, user.username, PASSWORD)).status_code == 200
        for _ in range(2):
            assert_problem(await raw_login(http, stack, user.username, "Wrong-Pass-123!"), 401)
        assert (await raw_login(http, stack, user.username, PASSWORD)).status_code == 200


class TestUnlock:
    async def test_officer_unlocks(self, stack: Stack, http: httpx.AsyncClient):
        user = await fresh_user(http, stack)
        for _ in range(3):
            await raw_login(http, stack, user.username, "Wrong-Pass-123!")
        assert (await raw_login(http, stack, user.username, PASSWORD)).status_code == 423
        so = await officer(http, stack)
        resp = await http.post(
            f"{stack.url('identity')}/users/{user.id}/unlock", headers=so.headers
        )
        assert resp.status_code == 200, resp.text
        assert resp.json()["locked_until"] is None
        assert (await raw_login(http, stack, user.username, PASSWORD)).status_code == 200
        (unlock,) = events(stack, "unlock", about=user.id)
        assert unlock["actor"]["username"] == "admin"
        assert unlock["details"]["was_locked"] is True

    async def test_only_the_security_officer_unlocks(self, stack: Stack, http: httpx.AsyncClient):
        user = await fresh_user(http, stack)
        director = await make_user(http, stack, "medical_director")
        resp = await http.post(
            f"{stack.url('identity')}/users/{user.id}/unlock", headers=director.headers
        )
        assert_problem(resp, 403)
        resp = await http.post(f"{stack.url('identity')}/users/{user.id}/unlock")
        assert_problem(resp, 401)

    async def test_unknown_and_malformed_ids(self, stack: Stack, http: httpx.AsyncClient):
        so = await officer(http, stack)
        base = f"{stack.url('identity')}/users"
        unknown = "00000000-0000-4000-8000-000000000000"
        assert_problem(await http.post(f"{base}/{unknown}/unlock", headers=so.headers), 404)
        assert_problem(await http.post(f"{base}/not-a-uuid/unlock", headers=so.headers), 422)


class TestLockDoubles:
    async def test_second_lock_lasts_twice_as_long(self, stack: Stack, http: httpx.AsyncClient):
        user = await fresh_user(http, stack)
        for _ in range(3):
            await raw_login(http, stack, user.username, "Wrong-Pass-123!")
        # Let the first lock run out without an unlock (which would reset the count).
        sql(
            stack,
            f"UPDATE account SET locked_until = now() - interval '1 s' WHERE id = '{user.id}'",
        )
        for _ in range(3):
            assert_problem(await raw_login(http, stack, user.username, "Wrong-Pass-123!"), 401)
        resp = await raw_login(http, stack, user.username, PASSWORD)
        assert_problem(resp, 423)
        assert 1790 <= int(resp.headers["Retry-After"]) <= 1800
        lockouts = events(stack, "lockout", about=user.id)
        assert [e["details"]["seconds"] for e in lockouts] == [900, 1800]
