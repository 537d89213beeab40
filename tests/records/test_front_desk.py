"""The front desk sees a directory, not a file: what administrative staff get, and what not."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from common.devstack import Stack
from tests.helpers import Account
from tests.records.conftest import File, events_since, last_outbox_id, new_file

pytestmark = pytest.mark.asyncio

DIRECTORY_KEYS = {
    "id", "first_name", "last_name", "birth_date", "employer", "department", "next_exam_due",
}  # fmt: skip
MEDICAL_KEYS = {"surveillance_reasons", "exposures", "retention", "exams", "fitness_decisions"}


@pytest.fixture(scope="module")
async def exposed(stack: Stack, http: httpx.AsyncClient, staff: dict[str, Account]) -> File:
    """A file with surveillance reasons, an asbestos exposure and two fitness decisions."""
    doc, base = staff["physician"], stack.url("records")
    f = await new_file(
        http,
        stack,
        doc,
        last_name=f"Desk{uuid.uuid4().hex[:8]}",
        department="Furnaces",
        surveillance_reasons=["Asbestos removal"],
        exposures=[{"agent": "asbestos", "started_on": "2010-01-01"}],
    )
    for decided, review in (("2023-01-10", "2024-01-10"), ("2024-03-02", "2025-03-02")):
        resp = await http.post(
            f"{base}/workers/{f.worker_id}/fitness-decisions",
            json={"decision": "fit", "decided_on": decided, "review_on": review},
            headers=doc.headers,
        )
        assert resp.status_code == 201, resp.text
    return f


def no_medical(entry: dict[str, Any]) -> None:
    assert set(entry) == DIRECTORY_KEYS, sorted(entry)
    assert not MEDICAL_KEYS & set(entry)


class TestDirectory:
    async def test_read_is_a_directory_entry(
        self, stack: Stack, http: httpx.AsyncClient, staff: dict[str, Account], exposed: File
    ):
        base = stack.url("records")
        resp = await http.get(
            f"{base}/workers/{exposed.worker_id}", headers=staff["admin_staff"].headers
        )
        assert resp.status_code == 200, resp.text
        entry = resp.json()
        no_medical(entry)
        assert entry["department"] == "Furnaces" and entry["birth_date"] == "1985-05-17"
        assert entry["next_exam_due"] == "2025-03-02"  # the latest decision's review date
        assert "sbestos" not in resp.text and "40 years" not in resp.text
        # Everyone else still gets the administrative part with its retention.
        full = await http.get(
            f"{base}/workers/{exposed.worker_id}", headers=staff["medical_director"].headers
        )
        assert full.json()["surveillance_reasons"] == ["Asbestos removal"]
        assert full.json()["retention"]["years_after_employment"] == 40

    async def test_search_returns_directory_entries(
        self, stack: Stack, http: httpx.AsyncClient, staff: dict[str, Account], exposed: File
    ):
        base = stack.url("records")
        name = (
            await http.get(
                f"{base}/workers/{exposed.worker_id}", headers=staff["physician"].headers
            )
        ).json()["last_name"]
        resp = await http.get(
            f"{base}/workers", params={"q": name}, headers=staff["admin_staff"].headers
        )
        assert resp.status_code == 200, resp.text
        [entry] = resp.json()["items"]
        no_medical(entry)
        assert entry["id"] == exposed.worker_id and entry["next_exam_due"] == "2025-03-02"

    async def test_no_decision_no_date(
        self, stack: Stack, http: httpx.AsyncClient, staff: dict[str, Account]
    ):
        base = stack.url("records")
        resp = await http.post(
            f"{base}/workers",
            json={"first_name": "No", "last_name": "Decision", "birth_date": "1990-01-01",
                  "employer": "Acme"},
            headers=staff["assistant"].headers,
        )  # fmt: skip
        worker_id = resp.json()["id"]
        entry = (
            await http.get(f"{base}/workers/{worker_id}", headers=staff["admin_staff"].headers)
        ).json()
        no_medical(entry)
        assert entry["next_exam_due"] is None

    async def test_served_grid_says_directory_only(self, stack: Stack, http: httpx.AsyncClient):
        profiles = (await http.get(f"{stack.url('identity')}/profiles")).json()
        [desk] = [p for p in profiles if p["code"] == "admin_staff"]
        granted = {right: scope for right, scope in desk["rights"].items() if scope != "none"}
        assert granted == {"open": "directory", "read": "directory"}


class TestRefused:
    @pytest.mark.parametrize(
        ("method", "path", "action", "part"),
        [
            ("GET", "/workers/{w}/record", "read", "record"),
            ("GET", "/exams/{exam}", "read", "exam"),
            ("GET", "/fitness-decisions/{fitness}", "read", "fitness"),
            ("POST", "/workers/{w}/print", "print", "record"),
            ("GET", "/workers/{w}/export", "export", "record"),
            ("GET", "/workers/{w}/notes", "read", "notes"),
            ("GET", "/workers/{w}/movements", "read", "movements"),
            ("PATCH", "/workers/{w}", "update", "administrative"),
            ("POST", "/workers/{w}/exposures", "create", "exposure"),
        ],
    )
    async def test_denied_and_traced(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        staff: dict[str, Account],
        exposed: File,
        records_db: asyncpg.Pool,
        method: str,
        path: str,
        action: str,
        part: str,
    ):
        clerk = staff["admin_staff"]
        url = stack.url("records") + path.format(
            w=exposed.worker_id, exam=exposed.exam_id, fitness=exposed.fitness_id
        )
        body: dict[str, Any] | None = None
        if method == "PATCH":
            body = {"version": 1, "department": "Front desk"}
        elif method == "POST" and path.endswith("exposures"):
            body = {"agent": "noise"}
        before = await last_outbox_id(records_db)
        resp = await http.request(method, url, json=body, headers=clerk.headers)
        assert resp.status_code == 403, resp.text
        assert resp.headers["content-type"] == "application/problem+json"
        assert "Mild hearing loss" not in resp.text
        [event] = await events_since(records_db, before, user_id=clerk.id, action=action)
        assert event["outcome"] == "denied"
        assert event["worker_id"] == exposed.worker_id
        assert event["resource"]["part"] == part
        assert event["actor"]["profile"] == "admin_staff"

    async def test_cannot_open_a_file(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        staff: dict[str, Account],
        records_db: asyncpg.Pool,
    ):
        clerk = staff["admin_staff"]
        before = await last_outbox_id(records_db)
        resp = await http.post(
            f"{stack.url('records')}/workers",
            json={"first_name": "A", "last_name": "B", "birth_date": "1990-01-01",
                  "employer": "Acme"},
            headers=clerk.headers,
        )  # fmt: skip
        assert resp.status_code == 403, resp.text
        [event] = await events_since(records_db, before, user_id=clerk.id, action="create")
        assert event["outcome"] == "denied"
