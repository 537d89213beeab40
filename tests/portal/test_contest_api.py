"""POST /me/access-history/{event_id}/contest and GET /me/contests: the three effects, bad input."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import asyncpg
import httpx
import pytest

from common.devstack import Stack
from tests.audit.support import dsn
from tests.helpers import admin, eventually, make_user
from tests.portal.support import Scenario, entry_of, open_file, read_notes, read_record

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
async def scene(stack: Stack, http: httpx.AsyncClient) -> Scenario:
    s = await open_file(http, stack, last_name="Contest")
    await read_record(http, stack, s.physician, s.worker_id)
    await read_notes(http, stack, s.physician, s.worker_id)
    return s


def contest_url(stack: Stack, event_id: str) -> str:
    return f"{stack.url('audit')}/me/access-history/{event_id}/contest"


class TestWithheld:
    async def test_a_note_access_is_marked_withheld_with_its_part(
        self, stack: Stack, http: httpx.AsyncClient, scene: Scenario
    ):
        note = await entry_of(http, stack, scene.worker, "read", "notes")
        assert note["withheld"] is True and note["part"] == "notes"
        assert "SECRET-NOTE-CONTENT" not in str(note)
        record = await entry_of(http, stack, scene.worker, "read", "record")
        assert record["withheld"] is False


class TestContest:
    async def test_one_contest_files_a_request_an_incident_and_an_alert(
        self, stack: Stack, http: httpx.AsyncClient, scene: Scenario
    ):
        entry = await entry_of(http, stack, scene.worker, "read", "record")
        before = datetime.now().astimezone()
        resp = await http.post(
            contest_url(stack, entry["event_id"]),
            json={"reason": "I never saw this physician <b>at all</b>"},
            headers=scene.worker.headers,
        )
        assert resp.status_code == 201, resp.text
        body = resp.json()
        assert {"contest_id", "subject_request_id", "incident_id", "alert_id",
                "assessment_due_at"} <= body.keys()  # fmt: skip
        due = datetime.fromisoformat(body["assessment_due_at"])
        assert timedelta(hours=71, minutes=59) < due - before < timedelta(hours=72, minutes=1)

        officer = await admin(http, stack)
        req = await http.get(
            f"{stack.url('register')}/subject-requests/{body['subject_request_id']}",
            headers=officer.headers,
        )
        assert req.status_code == 200, req.text
        assert req.json()["worker_id"] == scene.worker_id
        assert entry["event_id"] in req.json()["details"]
        assert req.json()["due_on"] and req.json()["status"] == "received"

        inc = await http.get(
            f"{stack.url('register')}/incidents/{body['incident_id']}", headers=officer.headers
        )
        assert inc.status_code == 200, inc.text
        incident = inc.json()
        assert "unauthorised access" in incident["title"].lower()
        assert entry["event_id"] in incident["description"]
        assert incident["alert_id"] == body["alert_id"]
        aware = datetime.fromisoformat(incident["aware_at"])
        assert abs((due - aware) - timedelta(hours=72)) < timedelta(seconds=2)

        director = await make_user(http, stack, "medical_director")

        async def alert() -> dict | None:
            resp = await http.get(f"{stack.url('audit')}/alerts", headers=director.headers)
            items = resp.json() if isinstance(resp.json(), list) else resp.json().get("items", [])
            return next((a for a in items if str(a.get("id")) == body["alert_id"]), None)

        found = await eventually(alert, timeout=30)
        assert found["kind"] == "contested_access" and found["severity"] == "high"
        assert entry["event_id"] in found["summary"]

        mine = await http.get(f"{stack.url('audit')}/me/contests", headers=scene.worker.headers)
        assert mine.status_code == 200, mine.text
        items = mine.json()["items"]
        assert [i["event_id"] for i in items] == [entry["event_id"]]
        assert items[0]["status"] == "received"

        again = await http.post(
            contest_url(stack, entry["event_id"]),
            json={"reason": "again"},
            headers=scene.worker.headers,
        )
        assert again.status_code == 409, again.text

        # The DPO answers: the worker sees it.
        answer = "The access was for your periodic exam."
        for change in ({"status": "in_progress"}, {"status": "answered", "answer": answer}):
            r = await http.patch(
                f"{stack.url('register')}/subject-requests/{body['subject_request_id']}",
                json=change,
                headers=officer.headers,
            )
            assert r.status_code == 200, r.text
        mine = await http.get(f"{stack.url('audit')}/me/contests", headers=scene.worker.headers)
        item = mine.json()["items"][0]
        assert item["status"] == "answered"
        assert item["answer"] == "The access was for your periodic exam."

    @pytest.mark.parametrize("reason", ["", "   ", "x" * 5000])
    async def test_bad_reasons_are_422(
        self, stack: Stack, http: httpx.AsyncClient, scene: Scenario, reason: str
    ):
        entry = await entry_of(http, stack, scene.worker, "read", "notes")
        resp = await http.post(
            contest_url(stack, entry["event_id"]), json={"reason": reason},
            headers=scene.worker.headers,
        )  # fmt: skip
        assert resp.status_code == 422, resp.text
        assert resp.headers["content-type"] == "application/problem+json"

    async def test_4999_characters_are_accepted(
        self, stack: Stack, http: httpx.AsyncClient, scene: Scenario
    ):
        entry = await entry_of(http, stack, scene.worker, "read", "notes")
        resp = await http.post(
            contest_url(stack, entry["event_id"]), json={"reason": "y" * 4999},
            headers=scene.worker.headers,
        )  # fmt: skip
        assert resp.status_code == 201, resp.text

    async def test_another_workers_event_is_404_and_traced(
        self, stack: Stack, http: httpx.AsyncClient, scene: Scenario
    ):
        entry = await entry_of(http, stack, scene.worker, "read", "record")
        other = await open_file(http, stack, last_name="Other")
        resp = await http.post(
            contest_url(stack, entry["event_id"]), json={"reason": "not mine"},
            headers=other.worker.headers,
        )  # fmt: skip
        assert resp.status_code == 404, resp.text
        unknown = await http.post(
            contest_url(stack, str(uuid.uuid4())), json={"reason": "?"},
            headers=other.worker.headers,
        )  # fmt: skip
        assert unknown.status_code == 404
        looked = await http.get(
            f"{stack.url('audit')}/me/access-history/{entry['event_id']}",
            headers=other.worker.headers,
        )
        assert looked.status_code == 404
        conn = await asyncpg.connect(dsn(stack))
        try:

            async def traced() -> int | None:
                n = int(
                    await conn.fetchval(
                        "SELECT count(*) FROM event WHERE actor_user_id = $1 "
                        "AND outcome = 'denied' AND source = 'audit'",
                        other.worker.id,
                    )
                )
                return n if n >= 3 else None

            assert await eventually(traced, timeout=30) >= 3
        finally:
            await conn.close()

    async def test_staff_cannot_contest(
        self, stack: Stack, http: httpx.AsyncClient, scene: Scenario
    ):
        entry = await entry_of(http, stack, scene.worker, "read", "record")
        resp = await http.post(
            contest_url(stack, entry["event_id"]), json={"reason": "x"},
            headers=scene.physician.headers,
        )  # fmt: skip
        assert resp.status_code == 403

    async def test_the_intake_refuses_a_worker_without_audits_signature(
        self, stack: Stack, http: httpx.AsyncClient, scene: Scenario
    ):
        resp = await http.post(
            f"{stack.url('register')}/contest-intake",
            json={"contest_id": str(uuid.uuid4()), "event_id": str(uuid.uuid4())},
            headers=scene.worker.headers,
        )
        assert resp.status_code == 403
