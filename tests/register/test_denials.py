"""Every 403 of the register leaves a `denied` event on register-events, naming what was refused."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from common.devstack import Stack
from common.events import format_time
from tests.helpers import Account
from tests.register.conftest import assert_problem

pytestmark = pytest.mark.asyncio


async def denials_of(
    stack: Stack, user_id: str, count: int, since: str, timeout: float = 20
) -> list[dict[str, Any]]:
    """The `denied` events of one actor on register-events since a time, once `count` came.

    The accounts are shared with other register tests, which may be refused too: only the
    refusals of this test (after `since`) count."""
    consumer = AIOKafkaConsumer(
        "register-events",
        bootstrap_servers=stack.broker.bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    found: list[dict[str, Any]] = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(found) < count and asyncio.get_running_loop().time() < deadline:
            for messages in (await consumer.getmany(timeout_ms=500)).values():
                for message in messages:
                    event = json.loads(message.value)
                    actor = event.get("actor") or {}
                    if (
                        actor.get("user_id") == user_id
                        and event["outcome"] == "denied"
                        and event["occurred_at"] >= since
                    ):
                        found.append(event)
    finally:
        await consumer.stop()
    assert len(found) == count, found
    # Partitions interleave: the refusals come back in the order they were made.
    return sorted(found, key=lambda e: e["occurred_at"])


def check(event: dict[str, Any], who: Account, action: str, resource: dict[str, Any]) -> None:
    assert event["source"] == "register" and event["outcome"] == "denied"
    assert event["action"] == action
    assert event["actor"]["user_id"] == who.id and event["actor"]["profile"] == who.profile
    assert event["actor"]["username"] == who.username
    assert event["resource"] == resource


async def test_physician_creating_an_incident(
    stack: Stack, http: httpx.AsyncClient, reg: str, physician: Account
):
    since = format_time(datetime.now(UTC))
    body = {"kind": "printout_left_at_printer", "title": "Left at the printer"}
    assert_problem(await http.post(f"{reg}/incidents", json=body, headers=physician.headers), 403)
    missing = str(uuid.uuid4())
    resp = await http.patch(
        f"{reg}/incidents/{missing}", json={"version": 1, "title": "x"}, headers=physician.headers
    )
    assert_problem(resp, 403)
    create, update = await denials_of(stack, physician.id, 2, since)
    check(create, physician, "create", {"type": "incident", "id": None, "part": "gdpr_register"})
    check(update, physician, "update", {"type": "incident", "id": missing, "part": "gdpr_register"})
    assert create["details"]["reason"] == "Only the security officer changes the register"


async def test_worker_reading_another_workers_request(
    stack: Stack, http: httpx.AsyncClient, reg: str, worker_a: Account, worker_b: Account
):
    since = format_time(datetime.now(UTC))
    resp = await http.post(
        f"{reg}/subject-requests", json={"kind": "access"}, headers=worker_b.headers
    )
    assert resp.status_code == 201, resp.text
    theirs, missing = resp.json()["id"], str(uuid.uuid4())
    refused = [
        assert_problem(
            await http.get(f"{reg}/subject-requests/{rid}", headers=worker_a.headers), 403
        )
        for rid in (theirs, missing)
    ]
    assert refused[0] == refused[1]  # the same refusal whether the request exists or not
    resource = {"type": "subject_request", "part": "gdpr_register"}
    first, second = await denials_of(stack, worker_a.id, 2, since)
    check(first, worker_a, "read", {**resource, "id": theirs})
    check(second, worker_a, "read", {**resource, "id": missing})


async def test_profile_without_the_register(
    stack: Stack, http: httpx.AsyncClient, reg: str, assistant: Account
):
    since = format_time(datetime.now(UTC))
    assert_problem(await http.get(f"{reg}/processing-activities", headers=assistant.headers), 403)
    [event] = await denials_of(stack, assistant.id, 1, since)
    check(
        event,
        assistant,
        "read",
        {"type": "processing_activity", "id": None, "part": "gdpr_register"},
    )
