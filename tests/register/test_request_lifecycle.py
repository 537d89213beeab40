"""Requests that change the file: access answered with the file, erasure checked against
retention, rectification done by the physician and closed with its link (register ↔ records)."""

from __future__ import annotations

import json

import httpx
import pytest

from common.devstack import Stack
from common.intake import SIGNATURE_HEADER
from tests.helpers import Account, make_user
from tests.records.conftest import File, new_file
from tests.register.conftest import account, assert_problem

pytestmark = pytest.mark.asyncio


async def filed(http: httpx.AsyncClient, reg: str, who: Account, kind: str, **body: object) -> dict:
    resp = await http.post(
        f"{reg}/subject-requests", json={"kind": kind, **body}, headers=who.headers
    )
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


@pytest.fixture
async def doc(stack: Stack, http: httpx.AsyncClient) -> Account:
    """The physician who follows the worker's file."""
    return await account(http, stack, "physician")


@pytest.fixture
async def own_file(stack: Stack, http: httpx.AsyncClient, doc: Account) -> tuple[File, Account]:
    """A real file in records and the worker account that owns it."""
    f = await new_file(http, stack, doc, last_name="Requester")
    return f, await make_user(http, stack, "worker", worker_id=f.worker_id)


async def records_outbox(stack: Stack, worker_id: str) -> list[dict]:
    out = stack.postgres.psql(
        f"SELECT payload::text FROM outbox WHERE payload->>'worker_id' = '{worker_id}' ORDER BY id",
        "records",
    )
    return [json.loads(line) for line in out.splitlines() if line.strip().startswith("{")]


class TestAccessRequestAnswer:
    async def test_the_officer_attaches_the_file_as_the_worker_sees_it_and_the_history(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        reg: str,
        officer: Account,
        own_file: tuple[File, Account],
    ):
        f, worker = own_file
        req = await filed(http, reg, worker, "access")
        resp = await http.post(
            f"{reg}/subject-requests/{req['id']}/file-copy", headers=officer.headers
        )
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["file_copy_attached"] and body["access_history_attached"]
        assert body["status"] == "in_progress"
        pdf = await http.get(
            f"{reg}/subject-requests/{req['id']}/file-copy.pdf", headers=worker.headers
        )
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        bundle = await http.get(
            f"{reg}/subject-requests/{req['id']}/file-copy/bundle", headers=worker.headers
        )
        document = bundle.json()
        assert document["view"] == "worker" and document["signature"]
        assert f.third_party not in bundle.text and f.note not in bundle.text
        assert document["record"]["exams"][0]["id"] == f.exam_id
        events = await records_outbox(stack, f.worker_id)
        copies = [e for e in events if e["action"] in ("print", "export") and e["purpose"]]
        assert {e["action"] for e in copies} == {"print", "export"}
        assert all(e["actor"]["user_id"] == officer.id for e in copies)
        assert all(req["id"] in e["purpose"] for e in copies)
        history = await http.get(
            f"{reg}/subject-requests/{req['id']}/access-history", headers=worker.headers
        )
        assert history.status_code == 200

    async def test_only_an_open_access_request_and_only_the_officer(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        reg: str,
        officer: Account,
        doc: Account,
        own_file: tuple[File, Account],
    ):
        _, worker = own_file
        erasure = await filed(http, reg, worker, "erasure")
        resp = await http.post(
            f"{reg}/subject-requests/{erasure['id']}/file-copy", headers=officer.headers
        )
        assert_problem(resp, 422)
        access = await filed(http, reg, worker, "access")
        for who in (doc, worker):
            resp = await http.post(
                f"{reg}/subject-requests/{access['id']}/file-copy", headers=who.headers
            )
            assert_problem(resp, 403)
        resp = await http.get(
            f"{reg}/subject-requests/{access['id']}/file-copy.pdf", headers=worker.headers
        )
        assert_problem(resp, 404)
        resp = await http.post(
            f"{reg}/subject-requests/00000000-0000-4000-8000-000000000000/file-copy",
            headers=officer.headers,
        )
        assert_problem(resp, 404)

    async def test_a_request_for_a_file_records_does_not_know_is_a_problem(
        self, http: httpx.AsyncClient, reg: str, officer: Account
    ):
        req = await filed(http, reg, officer, "access", worker_id="not-a-file-in-records")
        resp = await http.post(
            f"{reg}/subject-requests/{req['id']}/file-copy", headers=officer.headers
        )
        assert_problem(resp, 422)
        after = await http.get(f"{reg}/subject-requests/{req['id']}", headers=officer.headers)
        assert after.json()["file_copy_attached"] is False

    async def test_records_refuses_unsigned_intake(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        officer: Account,
        own_file: tuple[File, Account],
    ):
        f, _ = own_file
        body = {
            "subject_request_id": "00000000-0000-4000-8000-000000000001",
            "worker_id": f.worker_id,
        }
        for headers in ({}, {SIGNATURE_HEADER: "0" * 64}):
            resp = await http.post(
                f"{stack.url('records')}/subject-request-intake/file-copy",
                json=body,
                headers={**officer.headers, **headers},
            )
            assert_problem(resp, 403)


class TestErasureRequest:
    async def test_refused_with_the_legal_reason_quoted_while_the_file_is_kept(
        self, http: httpx.AsyncClient, reg: str, officer: Account, own_file: tuple[File, Account]
    ):
        _, worker = own_file
        req = await filed(http, reg, worker, "erasure", details="Please delete everything")
        url = f"{reg}/subject-requests/{req['id']}/retention-check"
        resp = await http.post(url, headers=officer.headers)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["status"] == "refused" and body["closed_at"]
        assert "GDPR Art. 17(3)" in body["refusal_reason"]
        assert "15 years after the end of employment" in body["refusal_reason"]
        assert body["resolution"]["retention"]["erasable"] is False
        assert_problem(await http.post(url, headers=officer.headers), 409)

    async def test_a_file_past_its_term_goes_to_the_next_batch(
        self, stack: Stack, http: httpx.AsyncClient, reg: str, officer: Account, doc: Account
    ):
        f = await new_file(
            http,
            stack,
            doc,
            last_name="Pastterm",
            employment_start="1980-01-01",
            employment_end="2001-01-31",
        )
        worker = await make_user(http, stack, "worker", worker_id=f.worker_id)
        req = await filed(http, reg, worker, "erasure")
        resp = await http.post(
            f"{reg}/subject-requests/{req['id']}/retention-check", headers=officer.headers
        )
        body = resp.json()
        assert body["status"] == "in_progress" and "next retention batch" in body["answer"]
        assert body["resolution"]["retention"]["erasable"] is True

    async def test_only_for_erasure_requests_by_the_officer(
        self, http: httpx.AsyncClient, reg: str, officer: Account, own_file: tuple[File, Account]
    ):
        _, worker = own_file
        access = await filed(http, reg, worker, "access")
        url = f"{reg}/subject-requests/{access['id']}/retention-check"
        assert_problem(await http.post(url, headers=officer.headers), 422)
        erasure = await filed(http, reg, worker, "erasure")
        url = f"{reg}/subject-requests/{erasure['id']}/retention-check"
        assert_problem(await http.post(url, headers=worker.headers), 403)


class TestRectificationRequest:
    async def test_the_physician_corrects_and_the_request_closes_with_the_link(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        reg: str,
        officer: Account,
        doc: Account,
        own_file: tuple[File, Account],
    ):
        f, worker = own_file
        rec = stack.url("records")
        req = await filed(http, reg, worker, "rectification", details="My hearing was normal")
        resp = await http.post(
            f"{reg}/subject-requests/{req['id']}/rectification-task", headers=officer.headers
        )
        assert resp.status_code == 200, resp.text
        task_id = resp.json()["resolution"]["rectification_task_id"]
        assert resp.json()["status"] == "in_progress"
        tasks = await http.get(f"{rec}/rectification-tasks", headers=doc.headers)
        assert task_id in [t["id"] for t in tasks.json()]
        other = await make_user(http, stack, "physician")
        tasks = await http.get(f"{rec}/rectification-tasks", headers=other.headers)
        assert task_id not in [t["id"] for t in tasks.json()]
        correction = {
            "entity": "exam",
            "entity_id": f.exam_id,
            "changes": {"version": 1, "findings": "Normal hearing (corrected)"},
        }
        url = f"{rec}/rectification-tasks/{task_id}/corrections"
        assert_problem(await http.post(url, json=correction, headers=other.headers), 403)
        bad = {**correction, "changes": {"version": 1, "kind": "bogus"}}
        assert_problem(await http.post(url, json=bad, headers=doc.headers), 422)
        resp = await http.post(url, json=correction, headers=doc.headers)
        assert resp.status_code == 200, resp.text
        assert resp.json()["status"] == "done"
        closed = (
            await http.get(f"{reg}/subject-requests/{req['id']}", headers=officer.headers)
        ).json()
        assert closed["status"] == "answered"
        link = closed["resolution"]["correction"]
        assert (link["entity_id"], link["version"]) == (f.exam_id, 2)
        assert f"/exams/{f.exam_id}/versions" in closed["answer"]
        versions = await http.get(f"{rec}/exams/{f.exam_id}/versions", headers=doc.headers)
        latest = versions.json()[-1]
        assert latest["version"] == 2
        assert latest["data"]["rectification_request_id"] == req["id"]
        assert_problem(await http.post(url, json=correction, headers=doc.headers), 409)

    @pytest.mark.parametrize(
        "body",
        [
            {
                "entity": "note",
                "entity_id": "00000000-0000-4000-8000-000000000000",
                "changes": {"version": 1, "x": 1},
            },
            {"entity": "exam", "entity_id": "nope", "changes": {"version": 1, "findings": "x"}},
            {"entity": "exam", "entity_id": "00000000-0000-4000-8000-000000000000", "changes": {}},
        ],
    )
    async def test_bad_corrections_are_problems(
        self, stack: Stack, http: httpx.AsyncClient, doc: Account, body: dict
    ):
        resp = await http.post(
            f"{stack.url('records')}/rectification-tasks/00000000-0000-4000-8000-000000000000/corrections",
            json=body,
            headers=doc.headers,
        )
        assert resp.status_code in (404, 422)
        assert resp.headers["content-type"].startswith("application/problem+json")

    async def test_a_task_needs_details_and_a_rectification_request(
        self, http: httpx.AsyncClient, reg: str, officer: Account, own_file: tuple[File, Account]
    ):
        _, worker = own_file
        empty = await filed(http, reg, worker, "rectification")
        url = f"{reg}/subject-requests/{empty['id']}/rectification-task"
        assert_problem(await http.post(url, headers=officer.headers), 422)
        access = await filed(http, reg, worker, "access")
        url = f"{reg}/subject-requests/{access['id']}/rectification-task"
        assert_problem(await http.post(url, headers=officer.headers), 422)

    async def test_the_register_refuses_unsigned_closure(
        self, http: httpx.AsyncClient, reg: str, doc: Account
    ):
        resp = await http.post(
            f"{reg}/rectification-intake",
            json={"subject_request_id": "00000000-0000-4000-8000-000000000001"},
            headers=doc.headers,
        )
        assert_problem(resp, 403)
