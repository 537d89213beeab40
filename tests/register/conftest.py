"""Accounts of every profile for the register tests, and a reader of register-events."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from common.devstack import Stack
from tests.helpers import Account, admin, login, make_user

TOKEN_MAX_AGE = 200  # identity's access tokens live at most 300 s
_accounts: dict[str, tuple[Account, float]] = {}
WORKER_A = f"w-a-{uuid.uuid4().hex[:10]}"
WORKER_B = f"w-b-{uuid.uuid4().hex[:10]}"


async def account(
    http: httpx.AsyncClient, stack: Stack, profile: str, *, worker_id: str | None = None
) -> Account:
    """One account per profile (and worker) for the whole session, with a fresh token."""
    key = f"{profile}:{worker_id}"
    hit = _accounts.get(key)
    if hit is None:
        acc = await admin(http, stack) if profile == "admin" else None
        acc = acc or await make_user(http, stack, profile, worker_id=worker_id)
    else:
        acc, at = hit
        if time.monotonic() - at < TOKEN_MAX_AGE:
            return acc
        acc.token = (await login(http, stack, acc.username, acc.password))["access_token"]
    _accounts[key] = (acc, time.monotonic())
    return acc


@pytest.fixture
async def officer(stack: Stack, http: httpx.AsyncClient) -> Account:
    """The security officer (writes the register)."""
    return await account(http, stack, "admin")


@pytest.fixture
async def director(stack: Stack, http: httpx.AsyncClient) -> Account:
    """The medical director (reads the register)."""
    return await account(http, stack, "medical_director")


@pytest.fixture
async def physician(stack: Stack, http: httpx.AsyncClient) -> Account:
    """A physician (reads the register)."""
    return await account(http, stack, "physician")


@pytest.fixture
async def assistant(stack: Stack, http: httpx.AsyncClient) -> Account:
    """An assistant (no access to the register)."""
    return await account(http, stack, "assistant")


@pytest.fixture
async def worker_a(stack: Stack, http: httpx.AsyncClient) -> Account:
    """A worker account linked to file WORKER_A."""
    return await account(http, stack, "worker", worker_id=WORKER_A)


@pytest.fixture
async def worker_b(stack: Stack, http: httpx.AsyncClient) -> Account:
    """A worker account linked to file WORKER_B."""
    return await account(http, stack, "worker", worker_id=WORKER_B)


@pytest.fixture
def reg(stack: Stack) -> str:
    """Base URL of the register service."""
    return stack.url("register")


async def register_events(
    stack: Stack, wanted: list[tuple[str, str]], timeout: float = 20
) -> list[dict[str, Any]]:
    """register-events from the start until each (action, resource id) came as often as listed."""
    consumer = AIOKafkaConsumer(
        "register-events",
        bootstrap_servers=stack.broker.bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    seen: list[dict[str, Any]] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        missing = Counter(wanted)
        while missing and loop.time() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for messages in batch.values():
                for message in messages:
                    event = json.loads(message.value)
                    seen.append(event)
                    missing[(event["action"], (event["resource"] or {}).get("id"))] -= 1
            missing = +missing
        assert not missing, f"events never published: {sorted(missing.elements())}"
    finally:
        await consumer.stop()
    return seen


def assert_problem(resp: httpx.Response, status: int) -> dict[str, Any]:
    """The response is a problem+json of that status; returns its body."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json"), resp.headers
    body = resp.json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == status
    return dict(body)
