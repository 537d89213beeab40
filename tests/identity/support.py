"""Helpers for identity's tests: SQL on the identity database, outbox events, raw logins."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from common.devstack import Stack
from tests.helpers import Account, admin, make_user

PROBLEM_JSON = "application/problem+json"


def sql(stack: Stack, statement: str) -> str:
    """Run SQL on the identity database as the superuser."""
    return stack.postgres.psql(statement, "identity").strip()


def events(
    stack: Stack, action: str | None = None, about: str | None = None
) -> list[dict[str, Any]]:
    """Identity's outbox events, oldest first, filtered by action and by an id in the event."""
    where = ["true"]
    if action:
        where.append(f"payload->>'action' = '{action}'")
    if about:
        where.append(f"payload::text LIKE '%{about}%'")
    rows = sql(stack, f"SELECT payload::text FROM outbox WHERE {' AND '.join(where)} ORDER BY id")
    return [json.loads(line) for line in rows.splitlines() if line]


def password_checks(stack: Stack, user_id: str) -> int:
    """How many times identity ran argon2 on this account's password."""
    return int(sql(stack, f"SELECT password_checks FROM account WHERE id = '{user_id}'"))


async def raw_login(
    http: httpx.AsyncClient, stack: Stack, username: str, password: str
) -> httpx.Response:
    """POST /auth/login without asserting the outcome."""
    return await http.post(
        f"{stack.url('identity')}/auth/login", json={"username": username, "password": password}
    )


async def fresh_user(http: httpx.AsyncClient, stack: Stack, profile: str = "physician") -> Account:
    """A new account with a unique name."""
    return await make_user(
        http, stack, profile, username=f"id-{profile[:4]}-{time.monotonic_ns() % 10**12}"
    )


async def officer(http: httpx.AsyncClient, stack: Stack) -> Account:
    """The bootstrap security officer, logged in."""
    return await admin(http, stack)


def assert_problem(resp: httpx.Response, status: int) -> dict[str, Any]:
    """The response is a problem+json document of that status."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith(PROBLEM_JSON), resp.headers
    body = dict(resp.json())
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == status
    return body
