"""Identity's events reach the auth-events topic through the outbox relay."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from common.devstack import Stack
from common.events import AccessEvent
from tests.audit.support import FAKE_SEQ_BASE
from tests.helpers import PASSWORD, make_user
from tests.identity.support import fresh_user, officer, raw_login

pytestmark = pytest.mark.asyncio


async def consume_until(stack: Stack, wanted: set[str], about: str, timeout: float = 30) -> dict:
    """Read auth-events from the start until every wanted action about `about` is seen."""
    consumer = AIOKafkaConsumer(
        "auth-events",
        bootstrap_servers=stack.broker.bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    seen: dict[str, dict] = {}
    try:
        deadline = time.monotonic() + timeout
        while not wanted <= seen.keys() and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for record in records:
                    event = json.loads(record.value)
                    if about in record.value.decode():
                        seen.setdefault(event["action"], event)
    finally:
        await consumer.stop()
    assert wanted <= seen.keys(), (wanted - seen.keys(), sorted(seen))
    return seen


class TestAuthEvents:
    async def test_every_account_event_is_published(self, stack: Stack, http: httpx.AsyncClient):
        user = await fresh_user(http, stack, "developer")
        director = await make_user(http, stack, "medical_director")
        so = await officer(http, stack)
        base = stack.url("identity")
        for _ in range(3):
            await raw_login(http, stack, user.username, "Wrong-Pass-123!")
        await http.post(f"{base}/users/{user.id}/unlock", headers=so.headers)
        tokens = (await raw_login(http, stack, user.username, PASSWORD)).json()
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        resp = await http.post(
            f"{base}/users/me/password",
            json={"current_password": PASSWORD, "new_password": "Another-Secret-88"},
            headers=headers,
        )
        assert resp.status_code == 204
        grant = await http.post(
            f"{base}/access-grants",
            json={"grantee_id": user.id, "reason": "Ticket 99: broken import", "minutes": 5},
            headers=director.headers,
        )
        assert grant.status_code == 201
        await http.delete(f"{base}/access-grants/{grant.json()['id']}", headers=director.headers)
        await http.post(f"{base}/auth/logout", headers=headers)
        await http.patch(
            f"{base}/users/{user.id}", json={"profile": "helpdesk"}, headers=so.headers
        )
        await http.patch(f"{base}/users/{user.id}", json={"active": False}, headers=so.headers)
        wanted = {
            "account_created", "login", "login_failed", "lockout", "unlock", "password_changed",
            "grant_created", "grant_revoked", "logout", "profile_changed", "account_deactivated",
        }  # fmt: skip
        seen = await consume_until(stack, wanted, user.id)
        for event in seen.values():
            parsed = AccessEvent.model_validate(event)
            assert parsed.source == "identity"
            assert parsed.source_seq >= 1
        assert seen["login_failed"]["outcome"] == "denied"
        assert seen["lockout"]["outcome"] == "denied"
        assert seen["login"]["client"]["ip"] == "127.0.0.1"
        assert seen["grant_created"]["purpose"] == "Ticket 99: broken import"

    async def test_sequence_has_no_gaps(self, stack: Stack, http: httpx.AsyncClient):
        user = await fresh_user(http, stack)
        await consume_until(stack, {"login"}, user.id)
        consumer = AIOKafkaConsumer(
            "auth-events", bootstrap_servers=stack.broker.bootstrap,
            auto_offset_reset="earliest", enable_auto_commit=False, group_id=None,
        )  # fmt: skip
        await consumer.start()
        seqs: list[int] = []
        try:
            batch = await consumer.getmany(timeout_ms=2000, max_records=100_000)
            while batch:
                seqs += [json.loads(r.value)["source_seq"] for rs in batch.values() for r in rs]
                batch = await consumer.getmany(timeout_ms=500, max_records=100_000)
        finally:
            await consumer.stop()
        # The audit tests publish envelopes of their own on the same topics, numbered from
        # FAKE_SEQ_BASE up: only the relay's numbers are identity's sequence.
        unique = sorted({s for s in seqs if s < FAKE_SEQ_BASE})
        assert unique == list(range(1, len(unique) + 1))
