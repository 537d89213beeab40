"""Issue 13, identity: lockout reveals nothing about which usernames exist; logins are throttled."""

from __future__ import annotations

import asyncio
import itertools
import re
import statistics
import time

import httpx
import pytest

from common.devstack import Stack
from tests.helpers import PASSWORD
from tests.identity.support import assert_problem, events, fresh_user

pytestmark = pytest.mark.asyncio
WRONG = "Wrong-Pass-123!"
_addresses = itertools.count(1)


def address() -> str:
    """A client address of its own (uvicorn trusts X-Forwarded-For from 127.0.0.1), so these
    tests never fill the throttle counter of 127.0.0.1 that the rest of the suite shares."""
    n = next(_addresses) + (time.monotonic_ns() // 1000) % 50_000
    return f"10.{(n >> 16) % 256}.{(n >> 8) % 256}.{n % 256}"


def ghost() -> str:
    return f"ghost-{time.monotonic_ns() % 10**12}"


async def attempt(
    http: httpx.AsyncClient, stack: Stack, username: str, password: str, ip: str | None = None
) -> httpx.Response:
    return await http.post(
        f"{stack.url('identity')}/auth/login",
        json={"username": username, "password": password},
        headers={"X-Forwarded-For": ip or address()},
    )


def without_seconds(body: dict) -> dict:
    """The problem body with the seconds left blanked (two locks a few ms apart may differ by 1)."""
    return {
        k: (re.sub(r"\d+", "N", v) if isinstance(v, str) else "N" if k == "retry_after" else v)
        for k, v in body.items()
    }


class TestNoOracle:
    async def test_unknown_name_answers_as_a_locked_account(
        self, stack: Stack, http: httpx.AsyncClient
    ):
        user, name = await fresh_user(http, stack), ghost()
        for _ in range(3):
            assert_problem(await attempt(http, stack, user.username, WRONG), 401)
            assert_problem(await attempt(http, stack, name, WRONG), 401)
        existing = await attempt(http, stack, user.username, PASSWORD)
        unknown = await attempt(http, stack, name, PASSWORD)
        body = assert_problem(existing, 423)
        assert assert_problem(unknown, 423) == body or without_seconds(
            unknown.json()
        ) == without_seconds(body)
        assert body["type"].endswith("/account-locked")
        retry = int(existing.headers["Retry-After"]), int(unknown.headers["Retry-After"])
        assert 890 <= retry[0] <= 900 and abs(retry[0] - retry[1]) <= 1, retry
        assert existing.headers.keys() - {"date"} == unknown.headers.keys() - {"date"}
        # The name is locked, not throttled: a different case or padding is the same name.
        again = await attempt(http, stack, f"  {name.upper()} ", WRONG)
        assert_problem(again, 423)

    async def test_concurrent_attempts_on_an_unknown_name_lock_it_like_an_account(
        self, stack: Stack, http: httpx.AsyncClient
    ):
        name = ghost()
        async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=50)) as c:
            responses = await asyncio.gather(
                *(attempt(c, stack, name, f"Wrong-Guess-{i}!") for i in range(50))
            )
        statuses = sorted(r.status_code for r in responses)
        assert statuses.count(401) == 3 and statuses.count(423) == 47, statuses

    async def test_an_account_created_later_starts_unlocked(
        self, stack: Stack, http: httpx.AsyncClient
    ):
        from tests.helpers import make_user

        name = ghost()
        for _ in range(3):
            await attempt(http, stack, name, WRONG)
        assert_problem(await attempt(http, stack, name, WRONG), 423)
        user = await make_user(http, stack, "physician", username=name)
        assert (await attempt(http, stack, user.username, PASSWORD)).status_code == 200

    async def test_inactive_account_locks_as_any_name_does(
        self, stack: Stack, http: httpx.AsyncClient
    ):
        from tests.identity.support import officer

        user = await fresh_user(http, stack)
        so = await officer(http, stack)
        resp = await http.patch(
            f"{stack.url('identity')}/users/{user.id}", json={"active": False}, headers=so.headers
        )
        assert resp.status_code == 200
        for _ in range(3):
            assert_problem(await attempt(http, stack, user.username, PASSWORD), 401)
        assert_problem(await attempt(http, stack, user.username, PASSWORD), 423)


class TestTiming:
    async def test_unknown_and_existing_names_take_the_same_time(
        self, stack: Stack, http: httpx.AsyncClient
    ):
        """Medians of 30 tries each, for a fresh failure and for a locked name."""
        user = await fresh_user(http, stack)

        async def timed(username: str, password: str, status: int) -> float:
            t0 = time.perf_counter()
            resp = await attempt(http, stack, username, password)
            elapsed = time.perf_counter() - t0
            assert resp.status_code == status, resp.text
            return elapsed

        known, unknown = [], []
        for _ in range(30):
            unknown.append(await timed(ghost(), WRONG, 401))
            known.append(await timed(user.username, WRONG, 401))
            # A success resets the failure count so the account never locks here.
            await timed(user.username, PASSWORD, 200)
        locked_name, locked_user = ghost(), await fresh_user(http, stack)
        for _ in range(3):
            await attempt(http, stack, locked_name, WRONG)
            await attempt(http, stack, locked_user.username, WRONG)
        locked_known, locked_unknown = [], []
        for _ in range(30):
            locked_unknown.append(await timed(locked_name, WRONG, 423))
            locked_known.append(await timed(locked_user.username, WRONG, 423))
        medians = {
            "failure": (statistics.median(known), statistics.median(unknown)),
            "locked": (statistics.median(locked_known), statistics.median(locked_unknown)),
        }
        print(f"timing medians (known, unknown) in s: {medians}")
        for k, u in medians.values():
            assert abs(k - u) < 0.050 or 0.5 <= u / k <= 2.0, medians

    @pytest.mark.filterwarnings("ignore::pytest.PytestWarning")
    def test_unknown_names_pay_for_a_dummy_hash(self):
        import inspect

        from identity.auth import service

        source = inspect.getsource(service._unknown_user)
        assert "hasher.verify(password, hasher.dummy_hash)" in source


class TestThrottle:
    async def test_per_username_failures_answer_429_with_retry_after(
        self, stack: Stack, http: httpx.AsyncClient
    ):
        user = await fresh_user(http, stack)
        # Three wrong passwords lock the account; the refusals while locked count too.
        async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=20)) as c:
            responses = await asyncio.gather(
                *(attempt(c, stack, user.username, f"Wrong-{i}-Pass!") for i in range(130))
            )
        statuses = [r.status_code for r in responses]
        assert statuses.count(401) == 3 and set(statuses) <= {401, 423, 429}, sorted(statuses)
        # Concurrent attempts are checked before the ones in flight are counted: a few more.
        for _ in range(30):
            if (await attempt(http, stack, user.username, WRONG)).status_code == 429:
                break
        resp = await attempt(http, stack, user.username, PASSWORD)
        body = assert_problem(resp, 429)
        assert body["type"].endswith("/rate-limited")
        assert 0 < int(resp.headers["Retry-After"]) <= 600
        throttled = [
            e for e in events(stack, "login_throttled") if "user" in e["details"]["throttled_by"]
        ]
        assert throttled, "the first refused attempt is traced"

    async def test_per_client_failures_answer_429_and_other_clients_are_not_slowed(
        self, stack: Stack, http: httpx.AsyncClient
    ):
        user, client = await fresh_user(http, stack), address()
        sem = asyncio.Semaphore(4)

        async def spray(i: int) -> int:
            async with sem:
                return (await attempt(http, stack, f"{ghost()}-{i}", WRONG, client)).status_code

        statuses = await asyncio.gather(*(spray(i) for i in range(60)))
        assert set(statuses) == {401}, statuses
        resp = await attempt(http, stack, user.username, PASSWORD, client)
        assert_problem(resp, 429)
        assert 0 < int(resp.headers["Retry-After"]) <= 60
        refresh = await http.post(
            f"{stack.url('identity')}/auth/refresh",
            json={"refresh_token": "not-a-token"},
            headers={"X-Forwarded-For": client},
        )
        assert_problem(refresh, 429)
        assert (await attempt(http, stack, user.username, PASSWORD)).status_code == 200
