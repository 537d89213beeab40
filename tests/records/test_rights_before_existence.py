"""Rights before existence: without the right, an existing id and a missing one look alike."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from common.devstack import Stack
from tests.helpers import Account, make_user
from tests.records.conftest import File, events_since, last_outbox_id, new_file

pytestmark = pytest.mark.asyncio

ROUTES = [
    ("GET", "/exams/{id}", "exam"),
    ("PATCH", "/exams/{id}", "exam"),
    ("GET", "/fitness-decisions/{id}", "fitness_decision"),
    ("PATCH", "/fitness-decisions/{id}", "fitness_decision"),
]


@pytest.fixture(scope="module")
async def other_file(stack: Stack, http: httpx.AsyncClient, staff: dict[str, Account]) -> File:
    """A file that is not the worker fixture's own."""
    return await new_file(http, stack, staff["physician"])


@pytest.fixture(scope="module")
async def outsider(stack: Stack, http: httpx.AsyncClient, file: File) -> Account:
    """A worker account with a file of its own (the shared `file`), reading someone else's."""
    return await make_user(http, stack, "worker", worker_id=file.worker_id)


def item_id(other: File, kind: str) -> str:
    return other.exam_id if kind == "exam" else other.fitness_id


def shape(resp: httpx.Response) -> tuple[int, str, dict[str, Any]]:
    body = resp.json()
    return resp.status_code, resp.headers["content-type"], body


@pytest.mark.parametrize(("method", "path", "kind"), ROUTES)
@pytest.mark.parametrize("profile", ["helpdesk", "admin_staff", "worker"])
async def test_same_403_whether_the_id_exists_or_not(
    stack: Stack,
    http: httpx.AsyncClient,
    staff: dict[str, Account],
    outsider: Account,
    other_file: File,
    records_db: asyncpg.Pool,
    profile: str,
    method: str,
    path: str,
    kind: str,
):
    who = outsider if profile == "worker" else staff[profile]
    base = stack.url("records")
    body = {"version": 1, "findings": "x"} if kind == "exam" else {"version": 1, "job": "x"}
    existing_id, missing_id = item_id(other_file, kind), str(uuid.uuid4())
    answers = []
    for target in (existing_id, missing_id):
        before = await last_outbox_id(records_db)
        resp = await http.request(
            method,
            base + path.format(id=target),
            json=body if method == "PATCH" else None,
            headers=who.headers,
        )
        answers.append(shape(resp))
        [event] = await events_since(records_db, before, user_id=who.id)
        assert event["outcome"] == "denied"
        assert event["resource"]["type"] == kind and event["resource"]["id"] == target
        expected_worker = other_file.worker_id if target == existing_id else None
        assert event["worker_id"] == expected_worker
    exists, missing = answers
    assert exists[0] == 403 and exists[1] == "application/problem+json"
    assert exists == missing  # status, media type and body, word for word
    assert "Mild hearing loss" not in str(exists[2])


@pytest.mark.parametrize(("method", "path", "kind"), ROUTES)
async def test_the_medical_director_learns_an_id_is_unknown(
    stack: Stack,
    http: httpx.AsyncClient,
    staff: dict[str, Account],
    method: str,
    path: str,
    kind: str,
):
    body = {"version": 1, "findings": "x"} if kind == "exam" else {"version": 1, "job": "x"}
    resp = await http.request(
        method,
        stack.url("records") + path.format(id=uuid.uuid4()),
        json=body if method == "PATCH" else None,
        headers=staff["medical_director"].headers,
    )
    assert resp.status_code == 404, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
