"""Creating and changing files: versions kept, stale writes refused, bad input never written."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date

import asyncpg
import httpx
import pytest

from common.devstack import Stack
from tests.helpers import Account
from tests.records.conftest import File, events_since, last_outbox_id, new_file

pytestmark = pytest.mark.asyncio


def problem(resp: httpx.Response, status: int) -> dict:
    """Assert a problem+json of a status and return it."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    body = resp.json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    return body


class TestVersioning:
    async def test_update_keeps_every_version_and_refuses_stale(
        self, stack: Stack, http: httpx.AsyncClient, staff: dict[str, Account]
    ):
        doc, nurse = staff["physician"], staff["assistant"]
        f = await new_file(http, stack, doc)
        base = stack.url("records")
        first = await http.patch(
            f"{base}/exams/{f.exam_id}",
            json={"version": 1, "findings": "v2"},
            headers=nurse.headers,
        )
        assert first.status_code == 200 and first.json()["version"] == 2
        stale = await http.patch(
            f"{base}/exams/{f.exam_id}", json={"version": 1, "findings": "v2b"}, headers=doc.headers
        )
        assert problem(stale, 409)["current_version"] == 2
        versions = (
            await http.get(f"{base}/exams/{f.exam_id}/versions", headers=doc.headers)
        ).json()
        assert [v["version"] for v in versions] == [1, 2]
        assert versions[0]["data"]["findings"] == "Mild hearing loss"
        assert versions[1]["data"]["findings"] == "v2"
        assert versions[0]["created_by"] == doc.id and versions[1]["created_by"] == nurse.id
        current = (await http.get(f"{base}/exams/{f.exam_id}", headers=doc.headers)).json()
        assert current["findings"] == "v2" and current["updated_by"] == nurse.id

    async def test_concurrent_updates_one_wins(
        self, stack: Stack, http: httpx.AsyncClient, staff: dict[str, Account]
    ):
        doc = staff["physician"]
        f = await new_file(http, stack, doc)
        url = f"{stack.url('records')}/exams/{f.exam_id}"
        results = await asyncio.gather(
            *(
                http.patch(url, json={"version": 1, "findings": f"w{i}"}, headers=doc.headers)
                for i in range(5)
            )
        )
        assert sorted(r.status_code for r in results) == [200, 409, 409, 409, 409]

    async def test_worker_and_fitness_updates_are_versioned(
        self, stack: Stack, http: httpx.AsyncClient, staff: dict[str, Account], file: File
    ):
        doc, base = staff["physician"], stack.url("records")
        current = (await http.get(f"{base}/workers/{file.worker_id}", headers=doc.headers)).json()
        resp = await http.patch(
            f"{base}/workers/{file.worker_id}",
            json={"version": current["version"], "department": "Foundry"},
            headers=doc.headers,
        )
        assert resp.status_code == 200 and resp.json()["version"] == current["version"] + 1
        stale = await http.patch(
            f"{base}/workers/{file.worker_id}",
            json={"version": current["version"], "department": "Other"},
            headers=doc.headers,
        )
        problem(stale, 409)
        fit = await http.patch(
            f"{base}/fitness-decisions/{file.fitness_id}",
            json={"version": 1, "decision": "temporarily_unfit", "review_on": "2024-06-01"},
            headers=doc.headers,
        )
        assert fit.status_code == 200, fit.text
        versions = await http.get(
            f"{base}/fitness-decisions/{file.fitness_id}/versions", headers=doc.headers
        )
        assert [v["data"]["decision"] for v in versions.json()] == ["fit", "temporarily_unfit"]


class TestIcd10:
    async def test_unknown_code_is_422_naming_it_and_nothing_is_written(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        staff: dict[str, Account],
        file: File,
        records_db: asyncpg.Pool,
    ):
        count = "SELECT count(*) FROM exam WHERE worker_id = $1::uuid"
        exams = await records_db.fetchval(count, file.worker_id)
        before = await last_outbox_id(records_db)
        resp = await http.post(
            f"{stack.url('records')}/workers/{file.worker_id}/exams",
            json={
                "kind": "periodic",
                "performed_on": "2024-01-01",
                "diagnoses": ["I10", "Q99.99X"],
            },
            headers=staff["physician"].headers,
        )
        body = problem(resp, 422)
        assert "Q99.99X" in body["detail"] and "I10" not in body["detail"]
        assert body["errors"][0]["field"] == "body.diagnoses.1"
        assert await records_db.fetchval(count, file.worker_id) == exams
        assert await events_since(records_db, before) == []

    async def test_unknown_code_on_update_is_422(
        self, stack: Stack, http: httpx.AsyncClient, staff: dict[str, Account], file: File
    ):
        resp = await http.patch(
            f"{stack.url('records')}/exams/{file.exam_id}",
            json={"version": 999, "diagnoses": ["NOPE"]},
            headers=staff["physician"].headers,
        )
        assert "NOPE" in problem(resp, 422)["detail"]

    async def test_valid_codes_are_normalised(
        self, stack: Stack, http: httpx.AsyncClient, staff: dict[str, Account], file: File
    ):
        resp = await http.post(
            f"{stack.url('records')}/workers/{file.worker_id}/exams",
            json={
                "kind": "maternity",
                "performed_on": "2024-01-01",
                "diagnoses": ["j45.0", "Z57.1"],
            },
            headers=staff["physician"].headers,
        )
        assert resp.status_code == 201, resp.text
        assert resp.json()["diagnoses"] == ["J45.0", "Z57.1"]


class TestBadInput:
    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"first_name": "A", "last_name": "B", "birth_date": "1990-01-01"},
            {"first_name": "", "last_name": "B", "birth_date": "1990-01-01", "employer": "E"},
            {"first_name": "A", "last_name": "B", "birth_date": "not-a-date", "employer": "E"},
            {"first_name": "A", "last_name": "B", "birth_date": "1990-01-01", "employer": "E",
             "employment_start": "2020-01-01", "employment_end": "2019-01-01"},
            {"first_name": "A", "last_name": "B", "birth_date": "1990-01-01", "employer": "E",
             "exposures": [{"agent": "moonlight"}]},
            {"first_name": "A", "last_name": "B", "birth_date": "1990-01-01", "employer": "E",
             "unexpected": 1},
            {"first_name": "A" * 101, "last_name": "B", "birth_date": "1990-01-01",
             "employer": "E"},
        ],
    )  # fmt: skip
    async def test_invalid_worker_is_422(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        staff: dict[str, Account],
        records_db: asyncpg.Pool,
        body: dict,
    ):
        workers = await records_db.fetchval("SELECT count(*) FROM worker")
        resp = await http.post(
            f"{stack.url('records')}/workers", json=body, headers=staff["physician"].headers
        )
        problem(resp, 422)
        assert await records_db.fetchval("SELECT count(*) FROM worker") == workers

    @pytest.mark.parametrize(
        "body",
        [
            {"kind": "autopsy", "performed_on": "2024-01-01"},
            {"kind": "periodic"},
            {"kind": "periodic", "performed_on": "2024-01-01", "diagnoses": "I10"},
            {"kind": "periodic", "performed_on": "2024-01-01", "findings": None},
        ],
    )
    async def test_invalid_exam_is_422(
        self, stack: Stack, http: httpx.AsyncClient, staff: dict[str, Account], file: File, body
    ):
        resp = await http.post(
            f"{stack.url('records')}/workers/{file.worker_id}/exams",
            json=body,
            headers=staff["physician"].headers,
        )
        problem(resp, 422)

    async def test_fit_with_restrictions_needs_them(
        self, stack: Stack, http: httpx.AsyncClient, staff: dict[str, Account], file: File
    ):
        resp = await http.post(
            f"{stack.url('records')}/workers/{file.worker_id}/fitness-decisions",
            json={"decision": "fit_with_restrictions", "decided_on": "2024-01-01"},
            headers=staff["physician"].headers,
        )
        problem(resp, 422)

    async def test_malformed_json_is_400(
        self, stack: Stack, http: httpx.AsyncClient, staff: dict[str, Account]
    ):
        resp = await http.post(
            f"{stack.url('records')}/workers",
            content=b"{not json",
            headers={**staff["physician"].headers, "content-type": "application/json"},
        )
        problem(resp, 400)

    async def test_unknown_ids_are_404(
        self, stack: Stack, http: httpx.AsyncClient, staff: dict[str, Account]
    ):
        base, h = stack.url("records"), staff["physician"].headers
        missing = uuid.uuid4()
        for resp in (
            await http.get(f"{base}/workers/{missing}", headers=h),
            await http.get(f"{base}/workers/{missing}/record", headers=h),
            await http.get(f"{base}/exams/{missing}", headers=h),
            await http.patch(f"{base}/exams/{missing}", json={"version": 1}, headers=h),
            await http.post(
                f"{base}/workers/{missing}/exams",
                json={"kind": "periodic", "performed_on": "2024-01-01"},
                headers=h,
            ),
        ):
            problem(resp, 404)

    async def test_malformed_id_is_422(
        self, stack: Stack, http: httpx.AsyncClient, staff: dict[str, Account]
    ):
        resp = await http.get(
            f"{stack.url('records')}/workers/not-a-uuid", headers=staff["physician"].headers
        )
        problem(resp, 422)

    @pytest.mark.parametrize("token", [None, "garbage", "Bearer x.y.z"])
    async def test_no_or_bad_token_is_401(
        self, stack: Stack, http: httpx.AsyncClient, file: File, token: str | None
    ):
        headers = {"Authorization": token} if token else {}
        resp = await http.get(
            f"{stack.url('records')}/workers/{file.worker_id}/record", headers=headers
        )
        body = problem(resp, 401)
        assert "exams" not in body


class TestRetention:
    @pytest.mark.parametrize(
        "end,agents,expected",
        [
            ("2020-03-31", ["noise"], "2035-03-31"),
            ("2020-03-31", ["noise", "asbestos"], "2060-03-31"),
            ("2020-02-29", ["ionizing_radiation"], "2060-02-29"),
            ("2012-02-29", ["dust"], "2027-02-28"),
            (None, ["carcinogens"], None),
        ],
    )
    async def test_earliest_deletion_date(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        staff: dict[str, Account],
        end: str | None,
        agents: list[str],
        expected: str | None,
    ):
        body = {
            "first_name": "R",
            "last_name": "Retention",
            "birth_date": "1960-01-01",
            "employer": "Evergreen Renovation",
            "employment_start": "1990-01-01",
            "employment_end": end,
            "exposures": [{"agent": a} for a in agents],
        }
        h = staff["physician"].headers
        resp = await http.post(f"{stack.url('records')}/workers", json=body, headers=h)
        assert resp.status_code == 201, resp.text
        assert resp.json()["retention"]["earliest_deletion_on"] == expected
        record = await http.get(
            f"{stack.url('records')}/workers/{resp.json()['id']}/record", headers=h
        )
        assert record.json()["worker"]["retention"]["earliest_deletion_on"] == expected

    async def test_a_later_exposure_lengthens_retention(
        self, stack: Stack, http: httpx.AsyncClient, staff: dict[str, Account], file: File
    ):
        base, h = stack.url("records"), staff["medical_director"].headers
        f = await new_file(http, stack, staff["physician"], employment_end="2021-06-30")
        before = (await http.get(f"{base}/workers/{f.worker_id}", headers=h)).json()
        assert before["retention"]["earliest_deletion_on"] == "2036-06-30"
        resp = await http.post(
            f"{base}/workers/{f.worker_id}/exposures",
            json={"agent": "carcinogens", "description": "benzene"},
            headers=h,
        )
        assert resp.status_code == 201
        after = (await http.get(f"{base}/workers/{f.worker_id}", headers=h)).json()
        assert after["retention"]["earliest_deletion_on"] == str(date(2061, 6, 30))


class TestSearch:
    async def test_one_event_per_worker_found(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        staff: dict[str, Account],
        records_db: asyncpg.Pool,
    ):
        name = f"Zz{uuid.uuid4().hex[:8]}"
        ids = {
            (await new_file(http, stack, staff["physician"], last_name=name)).worker_id
            for _ in range(3)
        }
        nurse = staff["assistant"]
        before = await last_outbox_id(records_db)
        resp = await http.get(
            f"{stack.url('records')}/workers", params={"q": name.lower()}, headers=nurse.headers
        )
        assert {w["id"] for w in resp.json()["items"]} == ids
        events = await events_since(records_db, before, user_id=nurse.id, action="search")
        assert {e["worker_id"] for e in events} == ids and len(events) == 3
        assert all(e["resource"]["part"] == "search" for e in events)

    async def test_admin_staff_search_and_read_administrative_part_only(
        self, stack: Stack, http: httpx.AsyncClient, staff: dict[str, Account], file: File
    ):
        clerk, base = staff["admin_staff"], stack.url("records")
        resp = await http.get(f"{base}/workers/{file.worker_id}", headers=clerk.headers)
        assert resp.status_code == 200
        assert "exams" not in resp.json() and "Mild hearing loss" not in resp.text
        for path in ("/record", "/notes", "/export", "/movements"):
            denied = await http.get(f"{base}/workers/{file.worker_id}{path}", headers=clerk.headers)
            assert denied.status_code == 403, path
        exam = await http.get(f"{base}/exams/{file.exam_id}", headers=clerk.headers)
        assert exam.status_code == 403


class TestCareTeam:
    async def test_care_team_drives_care_relationship(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        staff: dict[str, Account],
        records_db: asyncpg.Pool,
    ):
        doc, nurse, base = staff["physician"], staff["assistant"], stack.url("records")
        f = await new_file(http, stack, doc)
        url = f"{base}/workers/{f.worker_id}/record"
        before = await last_outbox_id(records_db)
        await http.get(url, headers=nurse.headers)
        resp = await http.put(
            f"{base}/workers/{f.worker_id}/care-team",
            json={"user_ids": [doc.id, nurse.id, nurse.id]},
            headers=doc.headers,
        )
        assert resp.status_code == 200 and sorted(resp.json()["user_ids"]) == sorted(
            {doc.id, nurse.id}
        )
        await http.get(url, headers=nurse.headers)
        outside, inside = await events_since(records_db, before, user_id=nurse.id, action="read")
        assert outside["details"]["care_relationship"] is False
        assert inside["details"]["care_relationship"] is True
        record = (await http.get(url, headers=doc.headers)).json()
        assert sorted(record["care_team"]) == sorted({doc.id, nurse.id})

    async def test_bad_care_team_is_422(
        self, stack: Stack, http: httpx.AsyncClient, staff: dict[str, Account], file: File
    ):
        for body in ({}, {"user_ids": "x"}, {"user_ids": [""]}, {"user_ids": ["a"] * 51}):
            resp = await http.put(
                f"{stack.url('records')}/workers/{file.worker_id}/care-team",
                json=body,
                headers=staff["physician"].headers,
            )
            problem(resp, 422)


class TestUnstorableText:
    @pytest.mark.parametrize("text", ["nul\x00byte", "lone \ud800 surrogate"])
    async def test_refused_as_422(
        self, stack: Stack, http: httpx.AsyncClient, staff: dict[str, Account], file: File, text
    ):
        body = json.dumps({"text": text}).encode()
        resp = await http.post(
            f"{stack.url('records')}/workers/{file.worker_id}/notes",
            content=body,
            headers={**staff["physician"].headers, "content-type": "application/json"},
        )
        problem(resp, 422)

    async def test_nul_in_search_is_422(
        self, stack: Stack, http: httpx.AsyncClient, staff: dict[str, Account]
    ):
        resp = await http.get(
            f"{stack.url('records')}/workers?q=a%00b", headers=staff["physician"].headers
        )
        problem(resp, 422)
