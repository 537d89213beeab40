"""The access grid of DOMAIN.md, profile by profile and right by right."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from common.devstack import Stack
from tests.helpers import Account
from tests.records.conftest import File, events_since, last_outbox_id

pytestmark = pytest.mark.asyncio

PROFILES = [
    "physician",
    "assistant",
    "developer",
    "helpdesk",
    "admin_staff",
    "medical_director",
    "security_officer",
    "worker",
]
# Written out from DOMAIN.md rather than derived from common.rights, so a wrong grid fails.
ALLOWED: dict[str, set[str]] = {
    "open": {"physician", "assistant", "admin_staff", "medical_director", "worker"},
    "read": {"physician", "assistant", "medical_director", "worker"},
    "search": {"physician", "assistant", "admin_staff", "medical_director"},
    "create": {"physician", "assistant", "medical_director"},
    "modify": {"physician", "assistant", "medical_director"},
    "print": {"physician", "assistant", "medical_director", "worker"},
    "export": {"physician", "assistant", "medical_director", "worker"},
    "notes_read": {"physician", "medical_director"},
    "notes_write": {"physician", "medical_director"},
}
ACTION = {
    "open": "read",
    "read": "read",
    "search": "search",
    "create": "create",
    "modify": "update",
    "print": "print",
    "export": "export",
    "notes_read": "read",
    "notes_write": "create",
}
PART = {
    "open": "administrative",
    "read": "record",
    "search": "search",
    "create": "exam",
    "modify": "exam",
    "print": "record",
    "export": "record",
    "notes_read": "notes",
    "notes_write": "notes",
}


async def attempt(
    op: str, http: httpx.AsyncClient, base: str, who: Account, file: File, db: asyncpg.Pool
) -> httpx.Response:
    """Perform one right on the file as `who`."""
    w, h = file.worker_id, who.headers
    if op == "open":
        return await http.get(f"{base}/workers/{w}", headers=h)
    if op == "read":
        return await http.get(f"{base}/workers/{w}/record", headers=h)
    if op == "search":
        return await http.get(f"{base}/workers", params={"q": "Worker"}, headers=h)
    if op == "create":
        body: dict[str, Any] = {"kind": "spontaneous", "performed_on": "2024-05-01"}
        return await http.post(f"{base}/workers/{w}/exams", json=body, headers=h)
    if op == "modify":
        version = await db.fetchval("SELECT version FROM exam WHERE id = $1::uuid", file.exam_id)
        body = {"version": version, "findings": f"seen by {who.profile}"}
        return await http.patch(f"{base}/exams/{file.exam_id}", json=body, headers=h)
    if op == "print":
        return await http.post(f"{base}/workers/{w}/print", headers=h)
    if op == "export":
        return await http.get(f"{base}/workers/{w}/export", headers=h)
    if op == "notes_read":
        return await http.get(f"{base}/workers/{w}/notes", headers=h)
    if op == "notes_write":
        return await http.post(f"{base}/workers/{w}/notes", json={"text": "n"}, headers=h)
    raise AssertionError(op)


class TestGrid:
    @pytest.mark.parametrize("op", list(ALLOWED))
    @pytest.mark.parametrize("profile", PROFILES)
    async def test_right(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        staff: dict[str, Account],
        worker: Account,
        file: File,
        records_db: asyncpg.Pool,
        profile: str,
        op: str,
    ):
        who = worker if profile == "worker" else staff[profile]
        before = await last_outbox_id(records_db)
        resp = await attempt(op, http, stack.url("records"), who, file, records_db)
        allowed = profile in ALLOWED[op]
        events = await events_since(records_db, before, user_id=who.id, action=ACTION[op])
        if allowed:
            assert 200 <= resp.status_code < 300, resp.text
            assert [e["outcome"] for e in events] == ["success"] * len(events)
            assert events, "an allowed access must be traced"
            event = events[0]
            assert event["resource"]["part"] == PART[op]
        else:
            assert resp.status_code == 403, resp.text
            assert resp.headers["content-type"] == "application/problem+json"
            assert resp.json()["status"] == 403
            assert [e["outcome"] for e in events] == ["denied"]
            event = events[0]
        assert event["source"] == "records"
        assert event["actor"] == {
            "user_id": who.id,
            "username": who.username,
            "display_name": who.display_name,
            "profile": profile,
        }
        if op != "search":
            assert event["details"]["care_relationship"] is (profile == "physician")
            assert event["worker_id"] == file.worker_id
            assert event["details"]["worker_employer"] == file.employer
