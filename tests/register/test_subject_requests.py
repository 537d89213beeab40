"""Data-subject requests over HTTP: due dates, extension, states, who sees what, events."""

from __future__ import annotations

import uuid
from datetime import date

import httpx
import pytest

from common.devstack import Stack
from tests.helpers import Account, eventually
from tests.register.conftest import WORKER_A, WORKER_B, assert_problem, register_events

pytestmark = pytest.mark.asyncio


async def file_request(
    http: httpx.AsyncClient, reg: str, who: Account, **body: object
) -> dict[str, object]:
    """POST /subject-requests, expecting 201."""
    resp = await http.post(f"{reg}/subject-requests", json=body, headers=who.headers)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


class TestDueDates:
    @pytest.mark.parametrize(
        ("received", "due"),
        [
            ("2024-01-31", "2024-02-29"),
            ("2025-01-31", "2025-02-28"),
            ("2025-03-31", "2025-04-30"),
            ("2023-12-31", "2024-01-31"),
            ("2025-06-15", "2025-07-15"),
        ],
    )
    async def test_due_one_month_after_receipt(
        self, http: httpx.AsyncClient, reg: str, officer: Account, received: str, due: str
    ):
        body = await file_request(
            http, reg, officer, kind="access", received_on=received, worker_id=WORKER_A
        )
        assert body["received_on"] == received
        assert body["due_on"] == due
        assert body["status"] == "received"
        assert body["extended"] is False

    async def test_received_today_when_absent(
        self, http: httpx.AsyncClient, reg: str, worker_a: Account
    ):
        body = await file_request(http, reg, worker_a, kind="erasure", details="Old address")
        received = date.fromisoformat(str(body["received_on"]))
        assert abs((received - date.today()).days) <= 1
        assert body["worker_id"] == WORKER_A

    async def test_future_receipt_refused(
        self, http: httpx.AsyncClient, reg: str, officer: Account
    ):
        resp = await http.post(
            f"{reg}/subject-requests",
            json={"kind": "access", "received_on": "2999-01-01", "worker_id": WORKER_A},
            headers=officer.headers,
        )
        assert "future" in assert_problem(resp, 422)["detail"]

    async def test_receipt_before_gdpr_refused(
        self, http: httpx.AsyncClient, reg: str, officer: Account
    ):
        resp = await http.post(
            f"{reg}/subject-requests",
            json={"kind": "access", "received_on": "2017-01-01", "worker_id": WORKER_A},
            headers=officer.headers,
        )
        assert_problem(resp, 422)

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"kind": "gossip"},
            {"kind": "access", "received_on": "2025-02-30"},
            {"kind": "access", "extra": 1},
            {"kind": "access", "details": ""},
            {"kind": "access", "worker_id": ""},
            {"kind": None},
        ],
    )
    async def test_bad_bodies(
        self, http: httpx.AsyncClient, reg: str, officer: Account, body: dict[str, object]
    ):
        resp = await http.post(f"{reg}/subject-requests", json=body, headers=officer.headers)
        assert_problem(resp, 422)

    async def test_officer_must_name_the_worker(
        self, http: httpx.AsyncClient, reg: str, officer: Account
    ):
        resp = await http.post(
            f"{reg}/subject-requests", json={"kind": "access"}, headers=officer.headers
        )
        assert "worker_id" in assert_problem(resp, 422)["detail"]

    async def test_malformed_json(self, http: httpx.AsyncClient, reg: str, officer: Account):
        resp = await http.post(
            f"{reg}/subject-requests",
            content=b"{not json",
            headers={**officer.headers, "content-type": "application/json"},
        )
        assert_problem(resp, 400)


class TestExtension:
    async def test_extended_once_by_two_months_with_reason(
        self, http: httpx.AsyncClient, reg: str, officer: Account, stack: Stack
    ):
        req = await file_request(http, reg, officer, kind="portability", worker_id=WORKER_A)
        url = f"{reg}/subject-requests/{req['id']}/extension"
        assert_problem(await http.post(url, json={}, headers=officer.headers), 422)
        assert_problem(await http.post(url, json={"reason": ""}, headers=officer.headers), 422)
        resp = await http.post(
            url, json={"reason": "Files in three centres"}, headers=officer.headers
        )
        assert resp.status_code == 200, resp.text
        body = resp.json()
        received = date.fromisoformat(body["received_on"])
        assert body["extended"] is True
        assert body["extension_reason"] == "Files in three centres"
        assert body["initial_due_on"] == req["due_on"]
        months = (date.fromisoformat(body["due_on"]).year - received.year) * 12 + (
            date.fromisoformat(body["due_on"]).month - received.month
        )
        assert months == 3
        again = await http.post(url, json={"reason": "More"}, headers=officer.headers)
        assert "one extension" in assert_problem(again, 409)["detail"]
        assert (
            await http.get(f"{reg}/subject-requests/{req['id']}", headers=officer.headers)
        ).json()["due_on"] == body["due_on"]

    async def test_extension_of_leap_receipt(
        self, http: httpx.AsyncClient, reg: str, officer: Account
    ):
        req = await file_request(
            http, reg, officer, kind="access", worker_id=WORKER_A, received_on="2023-11-30"
        )
        resp = await http.post(
            f"{reg}/subject-requests/{req['id']}/extension",
            json={"reason": "late"},
            headers=officer.headers,
        )
        # The first month ended on 2023-12-30: too late to extend now.
        assert "first month" in assert_problem(resp, 409)["detail"]

    async def test_only_the_officer_extends(
        self, http: httpx.AsyncClient, reg: str, officer: Account, worker_a: Account,
        director: Account,
    ):  # fmt: skip
        req = await file_request(http, reg, worker_a, kind="objection")
        for who in (worker_a, director):
            resp = await http.post(
                f"{reg}/subject-requests/{req['id']}/extension",
                json={"reason": "x"},
                headers=who.headers,
            )
            assert_problem(resp, 403)

    async def test_closed_request_cannot_be_extended(
        self, http: httpx.AsyncClient, reg: str, officer: Account
    ):
        req = await file_request(http, reg, officer, kind="objection", worker_id=WORKER_B)
        url = f"{reg}/subject-requests/{req['id']}"
        await http.patch(url, json={"status": "in_progress"}, headers=officer.headers)
        await http.patch(
            url, json={"status": "refused", "refusal_reason": "Legal obligation"},
            headers=officer.headers,
        )  # fmt: skip
        resp = await http.post(f"{url}/extension", json={"reason": "x"}, headers=officer.headers)
        assert_problem(resp, 409)


class TestStates:
    async def test_received_in_progress_answered(
        self, http: httpx.AsyncClient, reg: str, officer: Account
    ):
        req = await file_request(http, reg, officer, kind="rectification", worker_id=WORKER_A)
        url = f"{reg}/subject-requests/{req['id']}"
        skip = await http.patch(
            url, json={"status": "answered", "answer": "x"}, headers=officer.headers
        )
        assert "in_progress" in assert_problem(skip, 409)["detail"]
        resp = await http.patch(url, json={"status": "in_progress"}, headers=officer.headers)
        assert resp.json()["status"] == "in_progress"
        no_answer = await http.patch(url, json={"status": "answered"}, headers=officer.headers)
        assert_problem(no_answer, 422)
        done = await http.patch(
            url, json={"status": "answered", "answer": "Address corrected"}, headers=officer.headers
        )
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "answered"
        assert done.json()["closed_at"] is not None
        reopen = await http.patch(url, json={"status": "in_progress"}, headers=officer.headers)
        assert_problem(reopen, 409)

    async def test_refusal_needs_reason(self, http: httpx.AsyncClient, reg: str, officer: Account):
        req = await file_request(http, reg, officer, kind="erasure", worker_id=WORKER_A)
        url = f"{reg}/subject-requests/{req['id']}"
        await http.patch(url, json={"status": "in_progress"}, headers=officer.headers)
        resp = await http.patch(url, json={"status": "refused"}, headers=officer.headers)
        assert "reason" in assert_problem(resp, 422)["detail"]
        assert (await http.get(url, headers=officer.headers)).json()["status"] == "in_progress"
        resp = await http.patch(
            url,
            json={"status": "refused", "refusal_reason": "Kept 40 years by law (asbestos)"},
            headers=officer.headers,
        )
        assert resp.json()["status"] == "refused"

    async def test_unknown_and_malformed_ids(
        self, http: httpx.AsyncClient, reg: str, officer: Account
    ):
        missing = "00000000-0000-4000-8000-000000000000"
        assert_problem(
            await http.get(f"{reg}/subject-requests/{missing}", headers=officer.headers), 404
        )
        assert_problem(await http.get(f"{reg}/subject-requests/nope", headers=officer.headers), 422)
        resp = await http.patch(
            f"{reg}/subject-requests/{missing}", json={"status": "in_progress"},
            headers=officer.headers,
        )  # fmt: skip
        assert_problem(resp, 404)

    async def test_history_only_for_access_requests(
        self, http: httpx.AsyncClient, reg: str, officer: Account
    ):
        req = await file_request(http, reg, officer, kind="erasure", worker_id=WORKER_A)
        resp = await http.patch(
            f"{reg}/subject-requests/{req['id']}",
            json={"attach_access_history": True},
            headers=officer.headers,
        )
        assert_problem(resp, 422)


class TestOverdue:
    async def test_overdue_lists_open_requests_past_due(
        self, http: httpx.AsyncClient, reg: str, officer: Account
    ):
        old = await file_request(
            http, reg, officer, kind="access", worker_id=WORKER_B, received_on="2024-01-31"
        )
        fresh = await file_request(http, reg, officer, kind="access", worker_id=WORKER_B)
        ids = [
            r["id"]
            for r in (
                await http.get(f"{reg}/subject-requests/overdue", headers=officer.headers)
            ).json()
        ]
        assert old["id"] in ids
        assert fresh["id"] not in ids
        on_due = await http.get(
            f"{reg}/subject-requests/overdue",
            params={"as_of": "2024-02-29"},
            headers=officer.headers,
        )
        assert old["id"] not in [r["id"] for r in on_due.json()]
        after = await http.get(
            f"{reg}/subject-requests/overdue",
            params={"as_of": "2024-03-01"},
            headers=officer.headers,
        )
        assert old["id"] in [r["id"] for r in after.json()]
        assert all(r["overdue"] for r in after.json())
        single = await http.get(f"{reg}/subject-requests/{old['id']}", headers=officer.headers)
        assert single.json()["overdue"] is True

    async def test_answered_request_is_not_overdue(
        self, http: httpx.AsyncClient, reg: str, officer: Account
    ):
        old = await file_request(
            http, reg, officer, kind="restriction", worker_id=WORKER_B, received_on="2024-03-31"
        )
        url = f"{reg}/subject-requests/{old['id']}"
        await http.patch(url, json={"status": "in_progress"}, headers=officer.headers)
        await http.patch(
            url, json={"status": "answered", "answer": "Done"}, headers=officer.headers
        )
        ids = [
            r["id"]
            for r in (
                await http.get(f"{reg}/subject-requests/overdue", headers=officer.headers)
            ).json()
        ]
        assert old["id"] not in ids

    async def test_bad_as_of(self, http: httpx.AsyncClient, reg: str, officer: Account):
        resp = await http.get(
            f"{reg}/subject-requests/overdue",
            params={"as_of": "yesterday"},
            headers=officer.headers,
        )
        assert_problem(resp, 422)


class TestWhoSeesWhat:
    async def test_worker_files_and_sees_only_own(
        self, http: httpx.AsyncClient, reg: str, worker_a: Account, worker_b: Account,
        officer: Account,
    ):  # fmt: skip
        mine = await file_request(http, reg, worker_a, kind="access")
        theirs = await file_request(http, reg, worker_b, kind="access")
        assert mine["worker_id"] == WORKER_A and theirs["worker_id"] == WORKER_B
        listed = (await http.get(f"{reg}/subject-requests", headers=worker_a.headers)).json()
        assert listed and {r["worker_id"] for r in listed} == {WORKER_A}
        assert theirs["id"] not in [r["id"] for r in listed]
        # Rights before existence: another worker's request is refused, not hidden as a 404.
        assert_problem(
            await http.get(f"{reg}/subject-requests/{theirs['id']}", headers=worker_a.headers), 403
        )
        assert_problem(
            await http.get(
                f"{reg}/subject-requests", params={"worker_id": WORKER_B}, headers=worker_a.headers
            ),
            403,
        )
        overdue = (
            await http.get(f"{reg}/subject-requests/overdue", headers=worker_a.headers)
        ).json()
        assert {r["worker_id"] for r in overdue} <= {WORKER_A}
        seen = await http.get(f"{reg}/subject-requests/{mine['id']}", headers=worker_a.headers)
        assert seen.status_code == 200
        everyone = (await http.get(f"{reg}/subject-requests", headers=officer.headers)).json()
        assert {WORKER_A, WORKER_B} <= {r["worker_id"] for r in everyone}

    async def test_worker_cannot_file_for_another(
        self, http: httpx.AsyncClient, reg: str, worker_a: Account
    ):
        resp = await http.post(
            f"{reg}/subject-requests", json={"kind": "access", "worker_id": WORKER_B},
            headers=worker_a.headers,
        )  # fmt: skip
        assert_problem(resp, 403)

    async def test_worker_cannot_backdate(
        self, http: httpx.AsyncClient, reg: str, worker_a: Account
    ):
        resp = await http.post(
            f"{reg}/subject-requests", json={"kind": "access", "received_on": "2024-01-31"},
            headers=worker_a.headers,
        )  # fmt: skip
        assert_problem(resp, 422)

    async def test_worker_cannot_change_a_request(
        self, http: httpx.AsyncClient, reg: str, worker_a: Account
    ):
        mine = await file_request(http, reg, worker_a, kind="access")
        resp = await http.patch(
            f"{reg}/subject-requests/{mine['id']}", json={"status": "in_progress"},
            headers=worker_a.headers,
        )  # fmt: skip
        assert_problem(resp, 403)

    async def test_readers_read_but_do_not_file(
        self, http: httpx.AsyncClient, reg: str, director: Account, physician: Account
    ):
        for who in (director, physician):
            assert (
                await http.get(f"{reg}/subject-requests", headers=who.headers)
            ).status_code == 200
            resp = await http.post(
                f"{reg}/subject-requests", json={"kind": "access", "worker_id": WORKER_A},
                headers=who.headers,
            )  # fmt: skip
            assert_problem(resp, 403)

    async def test_other_profiles_refused(
        self, http: httpx.AsyncClient, reg: str, assistant: Account
    ):
        assert_problem(await http.get(f"{reg}/subject-requests", headers=assistant.headers), 403)
        resp = await http.post(
            f"{reg}/subject-requests", json={"kind": "access"}, headers=assistant.headers
        )
        assert_problem(resp, 403)

    async def test_no_or_bad_token(self, http: httpx.AsyncClient, reg: str):
        assert_problem(await http.get(f"{reg}/subject-requests"), 401)
        resp = await http.get(f"{reg}/subject-requests", headers={"Authorization": "Bearer x.y.z"})
        assert_problem(resp, 401)


class TestEvents:
    async def test_every_write_is_published(
        self, http: httpx.AsyncClient, reg: str, officer: Account, worker_a: Account, stack: Stack
    ):
        req = await file_request(http, reg, worker_a, kind="access")
        url = f"{reg}/subject-requests/{req['id']}"
        await http.post(f"{url}/extension", json={"reason": "Busy"}, headers=officer.headers)
        await http.patch(url, json={"status": "in_progress"}, headers=officer.headers)
        events = await register_events(
            stack,
            [
                ("subject_request_created", req["id"]),
                ("subject_request_updated", req["id"]),
                ("subject_request_updated", req["id"]),
            ],
        )
        mine = [e for e in events if (e["resource"] or {}).get("id") == req["id"]]
        assert [e["action"] for e in mine] == [
            "subject_request_created",
            "subject_request_updated",
            "subject_request_updated",
        ]
        assert all(e["source"] == "register" and e["worker_id"] == WORKER_A for e in mine)
        assert mine[0]["actor"]["profile"] == "worker"
        assert mine[1]["actor"]["profile"] == "security_officer"
        assert mine[1]["details"]["change"] == "extended"
        assert mine[0]["client"]["ip"] == "127.0.0.1"
        assert mine[0]["client"]["user_agent"].startswith("python-httpx")
        seqs = [e["source_seq"] for e in mine]
        assert seqs == sorted(seqs)

    async def test_refused_write_publishes_nothing(
        self, http: httpx.AsyncClient, reg: str, officer: Account, stack: Stack
    ):
        before = stack.postgres.psql("SELECT count(*) FROM outbox", "register").strip()
        before_rows = stack.postgres.psql("SELECT count(*) FROM subject_request", "register")
        resp = await http.post(
            f"{reg}/subject-requests",
            json={"kind": "access", "received_on": "2999-01-01", "worker_id": WORKER_A},
            headers=officer.headers,
        )
        assert_problem(resp, 422)
        assert (
            stack.postgres.psql("SELECT count(*) FROM subject_request", "register") == before_rows
        )
        assert stack.postgres.psql("SELECT count(*) FROM outbox", "register").strip() == before


class TestAccessHistoryAttached:
    async def test_answer_carries_the_history_from_audit(
        self, http: httpx.AsyncClient, reg: str, officer: Account, stack: Stack
    ):
        if "audit" not in stack.services:
            pytest.skip("audit is not part of this stack")
        worker = f"w-hist-{uuid.uuid4().hex[:8]}"
        req = await file_request(http, reg, officer, kind="access", worker_id=worker)

        async def history_known() -> bool:
            resp = await http.get(
                f"{stack.url('audit')}/access-history/{worker}", headers=officer.headers
            )
            return resp.status_code == 200 and bool(resp.json()["items"])

        await eventually(history_known, timeout=30)
        url = f"{reg}/subject-requests/{req['id']}"
        await http.patch(url, json={"status": "in_progress"}, headers=officer.headers)
        resp = await http.patch(
            url,
            json={"status": "answered", "answer": "Your history", "attach_access_history": True},
            headers=officer.headers,
        )
        assert resp.status_code == 200, resp.text
        assert resp.json()["access_history_attached"] is True
        history = (await http.get(f"{url}/access-history", headers=officer.headers)).json()
        assert history["complete"] is True
        assert history["entries"]
        entry = history["entries"][0]
        assert {"occurred_at", "actor_name", "actor_profile", "action", "outcome"} <= entry.keys()

    async def test_audit_down_is_a_clear_503_and_changes_nothing(
        self, http: httpx.AsyncClient, reg: str, officer: Account, stack: Stack
    ):
        if "audit" not in stack.services:
            pytest.skip("audit is not part of this stack")
        req = await file_request(http, reg, officer, kind="access", worker_id=WORKER_B)
        url = f"{reg}/subject-requests/{req['id']}"
        await http.patch(url, json={"status": "in_progress"}, headers=officer.headers)
        stack.kill_child("audit")
        try:
            resp = await http.patch(
                url,
                json={"status": "answered", "answer": "x", "attach_access_history": True},
                headers=officer.headers,
            )
            assert "audit service" in assert_problem(resp, 503)["detail"]
        finally:
            stack.start_children(["audit"])
            await stack.wait_ready(60)
        after = (await http.get(url, headers=officer.headers)).json()
        assert after["status"] == "in_progress"
        assert after["access_history_attached"] is False
        assert_problem(await http.get(f"{url}/access-history", headers=officer.headers), 404)
