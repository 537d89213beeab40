"""A worker (or guardian) sees their own file only, without notes or third-party data."""

from __future__ import annotations

import json

import asyncpg
import httpx
import pytest

from common.devstack import Stack
from tests.helpers import INITIAL_PASSWORD, Account, admin, first_login
from tests.records.conftest import File, events_since, last_outbox_id, new_file

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
async def other(stack: Stack, http: httpx.AsyncClient, staff: dict[str, Account]) -> File:
    """Somebody else's file."""
    return await new_file(http, stack, staff["physician"], last_name="Colleague")


class TestOwnFile:
    async def test_me_record_is_filtered(
        self, stack: Stack, http: httpx.AsyncClient, worker: Account, file: File
    ):
        resp = await http.get(f"{stack.url('records')}/me/record", headers=worker.headers)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["view"] == "worker"
        assert body["worker"]["id"] == file.worker_id
        assert body["exams"], "the worker sees their exams"
        text = resp.text
        assert file.third_party not in text
        assert file.note not in text
        assert all(e["third_party_info"] is None for e in body["exams"])

    async def test_record_url_gives_the_same_filtered_view(
        self, stack: Stack, http: httpx.AsyncClient, worker: Account, file: File
    ):
        base = stack.url("records")
        resp = await http.get(f"{base}/workers/{file.worker_id}/record", headers=worker.headers)
        assert resp.status_code == 200
        assert resp.json()["view"] == "worker"
        assert file.third_party not in resp.text

    async def test_own_exam_and_versions_are_filtered(
        self, stack: Stack, http: httpx.AsyncClient, worker: Account, file: File
    ):
        base = stack.url("records")
        exam = await http.get(f"{base}/exams/{file.exam_id}", headers=worker.headers)
        versions = await http.get(f"{base}/exams/{file.exam_id}/versions", headers=worker.headers)
        assert exam.status_code == 200 and versions.status_code == 200
        for resp in (exam, versions):
            assert file.third_party not in resp.text

    async def test_own_export_and_print_hold_no_third_party_data(
        self, stack: Stack, http: httpx.AsyncClient, worker: Account, file: File
    ):
        base = stack.url("records")
        export = await http.get(f"{base}/workers/{file.worker_id}/export", headers=worker.headers)
        assert export.status_code == 200
        assert export.json()["view"] == "worker"
        assert file.third_party not in export.text and file.note not in export.text
        printed = await http.post(f"{base}/workers/{file.worker_id}/print", headers=worker.headers)
        assert printed.status_code == 200
        assert printed.content.startswith(b"%PDF")

    async def test_own_reads_are_traced_as_own_file(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        worker: Account,
        file: File,
        records_db: asyncpg.Pool,
    ):
        before = await last_outbox_id(records_db)
        await http.get(f"{stack.url('records')}/me/record", headers=worker.headers)
        [event] = await events_since(records_db, before, user_id=worker.id)
        assert event["action"] == "read" and event["outcome"] == "success"
        assert event["worker_id"] == file.worker_id
        assert event["resource"]["part"] == "record"
        assert event["details"]["own_file"] is True


class TestNeverOthers:
    @pytest.mark.parametrize(
        "method,path",
        [
            ("GET", "/workers/{other}"),
            ("GET", "/workers/{other}/record"),
            ("GET", "/me/record?worker_id={other}"),
            ("GET", "/exams/{other_exam}"),
            ("GET", "/exams/{other_exam}/versions"),
            ("GET", "/fitness-decisions/{other_fitness}"),
            ("GET", "/workers/{other}/notes"),
            ("GET", "/workers/{own}/notes"),
            ("POST", "/workers/{other}/print"),
            ("GET", "/workers/{other}/export"),
            ("GET", "/workers/{other}/movements"),
            ("GET", "/workers?q=Colleague"),
            ("GET", "/workers"),
            ("POST", "/workers/{own}/exams"),
            ("PATCH", "/exams/{own_exam}"),
        ],
    )
    async def test_refused_and_traced(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        worker: Account,
        file: File,
        other: File,
        records_db: asyncpg.Pool,
        method: str,
        path: str,
    ):
        url = stack.url("records") + path.format(
            other=other.worker_id,
            own=file.worker_id,
            other_exam=other.exam_id,
            other_fitness=other.fitness_id,
            own_exam=file.exam_id,
        )
        body = None
        if method == "POST" and path.endswith("/exams"):
            body = {"kind": "periodic", "performed_on": "2024-01-01"}
        if method == "PATCH":
            body = {"version": 1, "findings": "x"}
        before = await last_outbox_id(records_db)
        resp = await http.request(method, url, json=body, headers=worker.headers)
        assert resp.status_code == 403, resp.text
        assert resp.headers["content-type"] == "application/problem+json"
        for secret in (other.note, other.third_party, "Colleague", file.note):
            assert secret not in resp.text
        events = await events_since(records_db, before, user_id=worker.id)
        assert [e["outcome"] for e in events] == ["denied"]


class TestGuardian:
    async def test_guardian_sees_the_ward_only(
        self, stack: Stack, http: httpx.AsyncClient, file: File, other: File
    ):
        officer = await admin(http, stack)
        username = f"guardian-{file.worker_id[:8]}"
        resp = await http.post(
            f"{stack.url('identity')}/users",
            json={
                "username": username,
                "display_name": "Parent of a minor",
                "profile": "worker",
                "password": INITIAL_PASSWORD,
                "guardian_of": [file.worker_id],
                "ward_birth_dates": {file.worker_id: "2012-03-04"},
            },
            headers=officer.headers,
        )
        assert resp.status_code == 201, resp.text
        token = (await first_login(http, stack, username))["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        base = stack.url("records")
        mine = await http.get(f"{base}/me/record", headers=headers)
        assert mine.status_code == 200, mine.text
        assert mine.json()["worker"]["id"] == file.worker_id
        assert file.third_party not in mine.text
        elsewhere = await http.get(f"{base}/workers/{other.worker_id}/record", headers=headers)
        assert elsewhere.status_code == 403

    async def test_staff_without_a_file_get_403_on_me_record(
        self, stack: Stack, http: httpx.AsyncClient, staff: dict[str, Account]
    ):
        url = f"{stack.url('records')}/me/record"
        resp = await http.get(url, headers=staff["physician"].headers)
        assert resp.status_code == 403
        assert json.loads(resp.text)["status"] == 403
