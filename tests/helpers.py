"""Test helpers shared by every service's tests: accounts, tokens, waiting for events."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from common.devstack import Ports, Stack

T = TypeVar("T")
_counter = itertools.count(1)
PASSWORD = "Correct-Horse-42!"
# The password the security officer gives a new account; its first login replaces it.
INITIAL_PASSWORD = "Officer-Chosen-17?"


@dataclass
class Account:
    """A user created through identity's API, logged in."""

    id: str
    username: str
    password: str
    profile: str
    token: str
    refresh_token: str
    worker_id: str | None = None
    display_name: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        """Authorization header."""
        return {"Authorization": f"Bearer {self.token}"}


async def login(
    http: httpx.AsyncClient, stack: Stack, username: str, password: str
) -> dict[str, Any]:
    """POST /auth/login; returns the token response or raises with the problem."""
    resp = await http.post(
        f"{stack.url('identity')}/auth/login", json={"username": username, "password": password}
    )
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


async def admin(http: httpx.AsyncClient, stack: Stack) -> Account:
    """The bootstrap security officer, logged in."""
    tokens = await login(http, stack, "admin", stack.admin_password)
    me = (
        await http.get(
            f"{stack.url('identity')}/users/me",
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
        )
    ).json()
    return Account(
        id=me["id"],
        username="admin",
        password=stack.admin_password,
        profile="security_officer",
        token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        display_name=me.get("display_name", "admin"),
    )


async def first_login(
    http: httpx.AsyncClient,
    stack: Stack,
    username: str,
    initial: str = INITIAL_PASSWORD,
    password: str = PASSWORD,
) -> dict[str, Any]:
    """Log in with the officer's password, change it, and refresh into unrestricted tokens."""
    base = stack.url("identity")
    tokens = await login(http, stack, username, initial)
    assert tokens.get("password_change_required") is True, tokens
    resp = await http.post(
        f"{base}/users/me/password",
        json={"current_password": initial, "new_password": password},
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert resp.status_code == 204, resp.text
    resp = await http.post(f"{base}/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert resp.status_code == 200, resp.text
    assert resp.json()["password_change_required"] is False
    return dict(resp.json())


async def make_user(
    http: httpx.AsyncClient,
    stack: Stack,
    profile: str,
    *,
    worker_id: str | None = None,
    username: str | None = None,
    display_name: str | None = None,
) -> Account:
    """Create an account of a profile (as the security officer), change its password at first
    login (to PASSWORD) and return it logged in."""
    officer = await admin(http, stack)
    n = next(_counter)
    username = username or f"{profile}-{n}-{int(time.time() * 1000) % 1_000_000}"
    body: dict[str, Any] = {
        "username": username,
        "display_name": display_name or f"{profile.replace('_', ' ').title()} {n}",
        "profile": profile,
        "password": INITIAL_PASSWORD,
    }
    if worker_id is not None:
        body["worker_id"] = worker_id
    resp = await http.post(f"{stack.url('identity')}/users", json=body, headers=officer.headers)
    assert resp.status_code == 201, resp.text
    user = resp.json()
    tokens = await first_login(http, stack, username)
    return Account(
        id=user["id"],
        username=username,
        password=PASSWORD,
        profile=profile,
        token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        worker_id=worker_id,
        display_name=body["display_name"],
    )


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, timeout: float = 20, interval: float = 0.2
) -> T:
    """Poll until probe returns something truthy; fail with the last value after timeout."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {last!r})")


@contextlib.asynccontextmanager
async def private_stack(data_dir: Path, name: str, *, durable: bool) -> AsyncIterator[Stack]:
    """A whole stack of a test's own (free ports), for tests that kill or restart its parts."""
    stack = Stack(
        data_dir,
        Ports.free(),
        demo=False,
        durable=durable,
        admin_password=f"Admin-{name}-Passw0rd!",
        say=lambda _: None,
    )
    try:
        await stack.start()
        yield stack
    finally:
        stack.stop()
