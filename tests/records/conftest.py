"""Records fixtures: one account per profile, a seeded file, and SQL access to the outbox."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest

from common.devstack import Stack
from tests.helpers import Account, make_user

STAFF = (
    "physician",
    "assistant",
    "developer",
    "helpdesk",
    "admin_staff",
    "medical_director",
    "security_officer",
)


@dataclass
class File:
    """A worker's file with one exam, one fitness decision and one personal note."""

    worker_id: str
    exam_id: str
    fitness_id: str
    employer: str
    third_party: str
    note: str


@pytest.fixture(scope="session")
async def records_db(stack: Stack) -> AsyncIterator[asyncpg.Pool]:
    """asyncpg pool on the records database (superuser)."""
    pool = await asyncpg.create_pool(
        stack.postgres.url("records").replace("+asyncpg", ""), min_size=1, max_size=4
    )
    assert pool is not None
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture(scope="session")
async def staff(stack: Stack, http: httpx.AsyncClient) -> dict[str, Account]:
    """One logged-in account per staff profile."""
    return {p: await make_user(http, stack, p) for p in STAFF}


async def new_file(http: httpx.AsyncClient, stack: Stack, author: Account, **extra: Any) -> File:
    """A worker's file written by a physician, with an exam, a decision and a note."""
    base = stack.url("records")
    body = {
        "first_name": "Test",
        "last_name": extra.pop("last_name", "Worker"),
        "birth_date": "1985-05-17",
        "employer": extra.pop("employer", "Acme Steelworks"),
        "care_team": [author.id],
        **extra,
    }
    resp = await http.post(f"{base}/workers", json=body, headers=author.headers)
    assert resp.status_code == 201, resp.text
    worker_id = resp.json()["id"]
    third_party = "Brother treated for the same allergy"
    resp = await http.post(
        f"{base}/workers/{worker_id}/exams",
        json={
            "kind": "periodic",
            "performed_on": "2024-03-01",
            "findings": "Mild hearing loss",
            "diagnoses": ["H83.3"],
            "third_party_info": third_party,
        },
        headers=author.headers,
    )
    assert resp.status_code == 201, resp.text
    exam_id = resp.json()["id"]
    resp = await http.post(
        f"{base}/workers/{worker_id}/fitness-decisions",
        json={"decision": "fit", "decided_on": "2024-03-01", "exam_id": exam_id},
        headers=author.headers,
    )
    assert resp.status_code == 201, resp.text
    fitness_id = resp.json()["id"]
    note = f"Personal note on {worker_id}"
    resp = await http.post(
        f"{base}/workers/{worker_id}/notes", json={"text": note}, headers=author.headers
    )
    assert resp.status_code == 201, resp.text
    return File(worker_id, exam_id, fitness_id, body["employer"], third_party, note)


@pytest.fixture(scope="session")
async def file(stack: Stack, http: httpx.AsyncClient, staff: dict[str, Account]) -> File:
    """The shared file most tests read."""
    return await new_file(http, stack, staff["physician"])


@pytest.fixture(scope="session")
async def worker(stack: Stack, http: httpx.AsyncClient, file: File) -> Account:
    """The worker account that owns `file`."""
    return await make_user(http, stack, "worker", worker_id=file.worker_id)


async def last_outbox_id(db: asyncpg.Pool) -> int:
    """The newest outbox row id (to look only at events written after it)."""
    return int(await db.fetchval("SELECT coalesce(max(id), 0) FROM outbox"))


async def events_since(db: asyncpg.Pool, after: int, **match: Any) -> list[dict[str, Any]]:
    """Outbox envelopes written after an id, optionally filtered on top-level fields/actor."""
    rows = await db.fetch("SELECT payload::text AS p FROM outbox WHERE id > $1 ORDER BY id", after)
    out = []
    for row in rows:
        event = json.loads(row["p"])
        user = match.get("user_id")
        if user and (event.get("actor") or {}).get("user_id") != user:
            continue
        if any(event.get(k) != v for k, v in match.items() if k != "user_id"):
            continue
        out.append(event)
    return out
