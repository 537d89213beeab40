"""Retention that acts: files past their term, legal holds, the director's approval, erasure."""

from __future__ import annotations

import asyncio
import sys

import asyncpg
import httpx
import pytest

from common.devstack import Stack
from common.events import AccessEvent
from tests.helpers import Account
from tests.records.conftest import File, events_since, last_outbox_id, new_file

pytestmark = pytest.mark.asyncio

ENDED = "2000-06-30"  # 15 years later: 2015-06-30, long past


async def ended_file(
    http: httpx.AsyncClient, stack: Stack, doc: Account, name: str, **extra: object
) -> File:
    """A file whose employment ended in 2000."""
    return await new_file(
        http,
        stack,
        doc,
        last_name=name,
        employment_start="1990-01-01",
        employment_end=ENDED,
        **extra,
    )


async def due_ids(http: httpx.AsyncClient, stack: Stack, who: Account) -> dict[str, dict]:
    resp = await http.get(f"{stack.url('records')}/retention/due", headers=who.headers)
    assert resp.status_code == 200, resp.text
    return {item["worker_id"]: item for item in resp.json()["items"]}


async def propose(http: httpx.AsyncClient, stack: Stack, who: Account, *ids: str) -> dict:
    resp = await http.post(
        f"{stack.url('records')}/retention/batches",
        json={"worker_ids": list(ids)},
        headers=who.headers,
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


async def approve(
    http: httpx.AsyncClient, stack: Stack, who: Account, batch: dict, comment: str
) -> httpx.Response:
    """The director's approval of a proposed batch, as answered."""
    return await http.post(
        f"{stack.url('records')}/retention/batches/{batch['id']}/approve",
        json={"comment": comment},
        headers=who.headers,
    )


class TestFilesPastTheirTerm:
    async def test_fifteen_years_after_employment_is_due_forty_for_asbestos_is_not(
        self, stack: Stack, http: httpx.AsyncClient, staff: dict[str, Account]
    ):
        doc, director = staff["physician"], staff["medical_director"]
        short = await ended_file(http, stack, doc, "Shortterm")
        long = await ended_file(http, stack, doc, "Longterm", exposures=[{"agent": "asbestos"}])
        running = await new_file(http, stack, doc, last_name="Stillemployed")
        due = await due_ids(http, stack, director)
        assert due[short.worker_id]["term_ended_on"] == "2015-06-30"
        assert due[short.worker_id]["years_after_employment"] == 15
        assert due[short.worker_id]["legal_hold"] is False
        assert long.worker_id not in due and running.worker_id not in due

    async def test_listing_is_traced_per_file(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        staff: dict[str, Account],
        records_db: asyncpg.Pool,
    ):
        director = staff["medical_director"]
        f = await ended_file(http, stack, staff["physician"], "Tracedlist")
        before = await last_outbox_id(records_db)
        await due_ids(http, stack, director)
        events = await events_since(records_db, before, action="search", worker_id=f.worker_id)
        assert events and events[0]["resource"]["part"] == "retention"

    async def test_only_the_medical_director_lists_and_a_refusal_is_traced(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        staff: dict[str, Account],
        records_db: asyncpg.Pool,
    ):
        before = await last_outbox_id(records_db)
        for profile in ("physician", "security_officer", "admin_staff"):
            resp = await http.get(
                f"{stack.url('records')}/retention/due", headers=staff[profile].headers
            )
            assert resp.status_code == 403, profile
            assert resp.headers["content-type"].startswith("application/problem+json")
        denied = await events_since(records_db, before, outcome="denied")
        assert len(denied) >= 3

    async def test_bad_day_is_a_problem(
        self, stack: Stack, http: httpx.AsyncClient, staff: dict[str, Account]
    ):
        resp = await http.get(
            f"{stack.url('records')}/retention/due",
            params={"as_of": "not-a-day"},
            headers=staff["medical_director"].headers,
        )
        assert resp.status_code == 422
        assert resp.headers["content-type"].startswith("application/problem+json")


class TestLegalHold:
    async def test_a_held_file_is_never_erased_until_the_hold_is_lifted(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        staff: dict[str, Account],
        records_db: asyncpg.Pool,
    ):
        base, director = stack.url("records"), staff["medical_director"]
        f = await ended_file(http, stack, staff["physician"], "Litigant")
        before = await last_outbox_id(records_db)
        resp = await http.post(
            f"{base}/workers/{f.worker_id}/legal-holds",
            json={"kind": "litigation", "reference": "Labour court 2026/123", "reason": "Claim"},
            headers=director.headers,
        )
        assert resp.status_code == 201, resp.text
        hold = resp.json()
        traced = await events_since(records_db, before, action="update", worker_id=f.worker_id)
        assert traced and traced[0]["resource"]["part"] == "legal_hold"
        assert (await due_ids(http, stack, director))[f.worker_id]["legal_hold"] is True
        batch = await propose(http, stack, director, f.worker_id)
        assert batch["worker_ids"] == [] and batch["outcome"]["held"] == [f.worker_id]
        resp = await http.post(
            f"{base}/workers/{f.worker_id}/legal-holds/{hold['id']}/lift",
            json={"reason": "Judgment final"},
            headers=director.headers,
        )
        assert resp.status_code == 200 and resp.json()["lifted_by"] == director.id
        resp = await http.post(
            f"{base}/workers/{f.worker_id}/legal-holds/{hold['id']}/lift",
            json={"reason": "again"},
            headers=director.headers,
        )
        assert resp.status_code == 409
        assert (await propose(http, stack, director, f.worker_id))["worker_ids"] == [f.worker_id]
        listed = await http.get(
            f"{base}/workers/{f.worker_id}/legal-holds", headers=director.headers
        )
        assert [h["lift_reason"] for h in listed.json()] == ["Judgment final"]

    async def test_a_hold_placed_after_the_proposal_still_blocks_the_approval(
        self, stack: Stack, http: httpx.AsyncClient, staff: dict[str, Account]
    ):
        base, director = stack.url("records"), staff["medical_director"]
        f = await ended_file(http, stack, staff["physician"], "Claimant")
        batch = await propose(http, stack, director, f.worker_id)
        resp = await http.post(
            f"{base}/workers/{f.worker_id}/legal-holds",
            json={"kind": "claim", "reference": "Insurer 77", "reason": "Occupational disease"},
            headers=director.headers,
        )
        assert resp.status_code == 201
        resp = await http.post(
            f"{base}/retention/batches/{batch['id']}/approve",
            json={"comment": "Reviewed"},
            headers=director.headers,
        )
        assert resp.status_code == 200, resp.text
        assert resp.json()["outcome"]["skipped"] == [
            {"worker_id": f.worker_id, "reason": "legal hold"}
        ]
        record = await http.get(f"{base}/workers/{f.worker_id}/record", headers=director.headers)
        assert record.json()["exams"], "a held file keeps its content"

    @pytest.mark.parametrize(
        "body",
        [
            {"kind": "whim", "reference": "x", "reason": "y"},
            {"kind": "claim", "reference": "", "reason": "y"},
            {"kind": "claim", "reference": "x"},
            {"kind": "claim", "reference": "x", "reason": "y", "extra": 1},
            {"kind": "claim", "reference": "x\u0000", "reason": "y"},
        ],
    )
    async def test_bad_holds_are_refused(
        self, stack: Stack, http: httpx.AsyncClient, staff: dict[str, Account], file: File, body
    ):
        resp = await http.post(
            f"{stack.url('records')}/workers/{file.worker_id}/legal-holds",
            json=body,
            headers=staff["medical_director"].headers,
        )
        assert resp.status_code == 422
        assert resp.headers["content-type"].startswith("application/problem+json")

    async def test_only_the_director_holds_and_unknown_files_are_404(
        self, stack: Stack, http: httpx.AsyncClient, staff: dict[str, Account], file: File
    ):
        body = {"kind": "claim", "reference": "x", "reason": "y"}
        base = stack.url("records")
        for profile in ("physician", "assistant", "security_officer"):
            resp = await http.post(
                f"{base}/workers/{file.worker_id}/legal-holds",
                json=body,
                headers=staff[profile].headers,
            )
            assert resp.status_code == 403, profile
        resp = await http.post(
            f"{base}/workers/00000000-0000-4000-8000-000000000000/legal-holds",
            json=body,
            headers=staff["medical_director"].headers,
        )
        assert resp.status_code == 404


class TestApprovedErasure:
    async def test_approval_erases_content_keeps_proof_and_lists_copies(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        staff: dict[str, Account],
        records_db: asyncpg.Pool,
    ):
        base, doc, director = stack.url("records"), staff["physician"], staff["medical_director"]
        f = await ended_file(http, stack, doc, "Erasable", job_title="Welder")
        assert (
            await http.post(f"{base}/workers/{f.worker_id}/print", headers=doc.headers)
        ).status_code == 200
        exported = await http.get(f"{base}/workers/{f.worker_id}/export", headers=doc.headers)
        batch = await propose(http, stack, director, f.worker_id)
        assert batch["status"] == "proposed"
        # Proposing erased nothing.
        record = await http.get(f"{base}/workers/{f.worker_id}/record", headers=director.headers)
        assert record.json()["exams"]
        before = await last_outbox_id(records_db)
        resp = await approve(http, stack, director, batch, "Term passed, no claim known")
        assert resp.status_code == 200, resp.text
        approved = resp.json()
        assert approved["status"] == "approved" and approved["approved_by"] == director.id
        [erased] = approved["outcome"]["erased"]
        assert erased["worker_id"] == f.worker_id
        copies = {c["kind"]: c for c in erased["copies"]}
        assert set(copies) == {"print", "export"}
        assert copies["export"]["bundle_id"] == exported.json()["bundle_id"]
        assert copies["print"]["actor_id"] == doc.id
        [event] = await events_since(records_db, before, action="erase")
        assert event["worker_id"] == f.worker_id
        assert event["details"]["approval"]["batch_id"] == batch["id"]
        assert event["details"]["approval"]["approved_by"] == director.id
        assert event["details"]["approval"]["comment"] == "Term passed, no claim known"
        assert event["details"]["copies_to_recall"] == 2
        envelope = {**event, "source_seq": event.get("source_seq") or 1}
        assert AccessEvent.model_validate(envelope).action == "erase"
        record = (
            await http.get(f"{base}/workers/{f.worker_id}/record", headers=director.headers)
        ).json()
        assert record["exams"] == [] and record["fitness_decisions"] == []
        assert record["exposures"] == [] and record["care_team"] == []
        worker = record["worker"]
        assert worker["last_name"] == "(erased)" and worker["job_title"] is None
        assert worker["birth_date"] == "1985-01-01"
        assert worker["employment_end"] == ENDED
        notes = await records_db.fetchval(
            "SELECT count(*) FROM note WHERE worker_id = $1", f.worker_id
        )
        old = await records_db.fetchval(
            "SELECT count(*) FROM revision WHERE worker_id = $1 AND entity <> 'worker'",
            f.worker_id,
        )
        assert notes == 0 and old == 0
        proof = await http.get(f"{base}/retention/erasures/{f.worker_id}", headers=director.headers)
        assert proof.status_code == 200
        assert proof.json()["term_ended_on"] == "2015-06-30" and len(proof.json()["copies"]) == 2
        movements = await http.get(
            f"{base}/workers/{f.worker_id}/movements", headers=director.headers
        )
        assert {m["kind"] for m in movements.json()} == {"print", "export"}
        again = await approve(http, stack, director, batch, "twice")
        assert again.status_code == 409
        assert f.worker_id not in await due_ids(http, stack, director)

    async def test_approval_needs_the_director_and_a_comment(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        staff: dict[str, Account],
        records_db: asyncpg.Pool,
    ):
        base, director = stack.url("records"), staff["medical_director"]
        f = await ended_file(http, stack, staff["physician"], "Notyet")
        batch = await propose(http, stack, director, f.worker_id)
        url = f"{base}/retention/batches/{batch['id']}/approve"
        before = await last_outbox_id(records_db)
        resp = await http.post(url, json={"comment": "me"}, headers=staff["physician"].headers)
        assert resp.status_code == 403
        assert await events_since(records_db, before, action="erase", outcome="denied")
        for body in ({}, {"comment": ""}, {"comment": "x" * 2001}, {"comment": "x", "more": 1}):
            resp = await http.post(url, json=body, headers=director.headers)
            assert resp.status_code == 422, body
            assert resp.headers["content-type"].startswith("application/problem+json")
        unknown = f"{base}/retention/batches/00000000-0000-4000-8000-000000000000/approve"
        resp = await http.post(unknown, json={"comment": "x"}, headers=director.headers)
        assert resp.status_code == 404
        record = await http.get(f"{base}/workers/{f.worker_id}/record", headers=director.headers)
        assert record.json()["exams"], "nothing was erased"


class TestErasedFile:
    async def test_an_erased_file_takes_no_new_entry(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        staff: dict[str, Account],
        records_db: asyncpg.Pool,
    ):
        base, doc, director = stack.url("records"), staff["physician"], staff["medical_director"]
        f = await ended_file(http, stack, doc, "Gone")
        batch = await propose(http, stack, director, f.worker_id)
        resp = await approve(http, stack, director, batch, "Term passed")
        assert resp.status_code == 200, resp.text
        before = await last_outbox_id(records_db)
        attempts = [
            (
                doc,
                f"{base}/workers/{f.worker_id}/exams",
                {"kind": "periodic", "performed_on": "2026-11-02", "findings": "After erasure"},
            ),
            (
                director,
                f"{base}/workers/{f.worker_id}/legal-holds",
                {"kind": "litigation", "reference": "Too late", "reason": "Claim"},
            ),
        ]
        for who, url, body in attempts:
            resp = await http.post(url, json=body, headers=who.headers)
            assert resp.status_code == 409, (url, resp.text)
            assert resp.headers["content-type"].startswith("application/problem+json")
            assert "erased" in resp.json()["detail"]
        exams = await records_db.fetchval(
            "SELECT count(*) FROM exam WHERE worker_id = $1", f.worker_id
        )
        holds = await records_db.fetchval(
            "SELECT count(*) FROM legal_hold WHERE worker_id = $1", f.worker_id
        )
        assert exams == 0 and holds == 0
        assert await events_since(records_db, before, worker_id=f.worker_id) == []
        # What is left stays readable to the director (the reduced identity, traced).
        record = await http.get(f"{base}/workers/{f.worker_id}/record", headers=director.headers)
        assert record.status_code == 200 and record.json()["worker"]["last_name"] == "(erased)"


class TestDailyJob:
    async def test_the_command_lists_and_proposes_but_never_erases(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        staff: dict[str, Account],
        records_db: asyncpg.Pool,
    ):
        f = await ended_file(http, stack, staff["physician"], "Jobreviewed")
        env = stack.env()
        before = await last_outbox_id(records_db)
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "records.retention",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, err.decode()
        text = out.decode()
        assert f.worker_id in text and "proposed" in text
        batch_id = await records_db.fetchval(
            "SELECT id FROM erasure_batch WHERE proposed_by = 'retention-job' "
            "AND worker_ids ? $1 ORDER BY proposed_at DESC LIMIT 1",
            f.worker_id,
        )
        assert batch_id is not None
        [review] = await events_since(records_db, before, action="retention_review")
        assert review["resource"]["id"] == str(batch_id)
        record = await http.get(
            f"{stack.url('records')}/workers/{f.worker_id}/record",
            headers=staff["medical_director"].headers,
        )
        assert record.json()["exams"], "the job never erases"
