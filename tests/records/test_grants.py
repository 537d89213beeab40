"""Developers and helpdesk reach a file only through a live grant; every use is flagged."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from common.devstack import Stack
from tests.helpers import Account, login, make_user
from tests.records.conftest import File, events_since, last_outbox_id, new_file

pytestmark = pytest.mark.asyncio
REASON = "Ticket 4711: exam form does not save"
NEW_WORKER = {"first_name": "N", "last_name": "New", "birth_date": "1990-01-01", "employer": "E"}


async def granted(
    http: httpx.AsyncClient, stack: Stack, director: Account, profile: str, worker_id: str | None
) -> tuple[Account, str]:
    """A fresh account of the profile holding a grant (for one file, or all when None)."""
    account = await make_user(http, stack, profile)
    body = {"grantee_id": account.id, "reason": REASON, "minutes": 30}
    if worker_id:
        body["worker_id"] = worker_id
    resp = await http.post(
        f"{stack.url('identity')}/access-grants", json=body, headers=director.headers
    )
    assert resp.status_code == 201, resp.text
    account.token = (await login(http, stack, account.username, account.password))["access_token"]
    return account, resp.json()["id"]


class TestGrantedDeveloper:
    async def test_grant_opens_that_file_only_and_is_traced(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        staff: dict[str, Account],
        file: File,
        records_db: asyncpg.Pool,
    ):
        other = await new_file(http, stack, staff["physician"], last_name="Elsewhere")
        dev, grant_id = await granted(
            http, stack, staff["medical_director"], "developer", file.worker_id
        )
        base = stack.url("records")
        before = await last_outbox_id(records_db)
        ok = await http.get(f"{base}/workers/{file.worker_id}/record", headers=dev.headers)
        assert ok.status_code == 200, ok.text
        refused = await http.get(f"{base}/workers/{other.worker_id}/record", headers=dev.headers)
        assert refused.status_code == 403
        read, denied = await events_since(records_db, before, user_id=dev.id)
        assert read["outcome"] == "success" and read["purpose"] == REASON
        assert read["details"]["grant_id"] == grant_id
        assert read["details"]["care_relationship"] is False
        assert denied["outcome"] == "denied" and denied["worker_id"] == other.worker_id

    async def test_search_under_a_file_grant_finds_that_file_only(
        self, stack: Stack, http: httpx.AsyncClient, staff: dict[str, Account], file: File
    ):
        dev, _ = await granted(http, stack, staff["medical_director"], "developer", file.worker_id)
        resp = await http.get(f"{stack.url('records')}/workers", headers=dev.headers)
        assert resp.status_code == 200
        assert [w["id"] for w in resp.json()["items"]] == [file.worker_id]

    async def test_a_file_grant_does_not_open_new_files(
        self, stack: Stack, http: httpx.AsyncClient, staff: dict[str, Account], file: File
    ):
        dev, _ = await granted(http, stack, staff["medical_director"], "developer", file.worker_id)
        resp = await http.post(
            f"{stack.url('records')}/workers",
            json={
                "first_name": "N",
                "last_name": "New",
                "birth_date": "1990-01-01",
                "employer": "E",
            },
            headers=dev.headers,
        )
        assert resp.status_code == 403

    async def test_an_all_files_grant_allows_creating(
        self, stack: Stack, http: httpx.AsyncClient, staff: dict[str, Account]
    ):
        dev, _ = await granted(http, stack, staff["medical_director"], "developer", None)
        resp = await http.post(
            f"{stack.url('records')}/workers",
            json={
                "first_name": "N",
                "last_name": "New",
                "birth_date": "1990-01-01",
                "employer": "E",
            },
            headers=dev.headers,
        )
        assert resp.status_code == 201, resp.text


class TestGrantedHelpdesk:
    async def test_helpdesk_may_read_but_never_write(
        self, stack: Stack, http: httpx.AsyncClient, staff: dict[str, Account], file: File
    ):
        desk, _ = await granted(http, stack, staff["medical_director"], "helpdesk", None)
        base = stack.url("records")
        assert (
            await http.get(f"{base}/workers/{file.worker_id}/record", headers=desk.headers)
        ).status_code == 200
        write = await http.post(
            f"{base}/workers/{file.worker_id}/exams",
            json={"kind": "periodic", "performed_on": "2024-01-01"},
            headers=desk.headers,
        )
        assert write.status_code == 403
        assert (
            await http.get(f"{base}/workers/{file.worker_id}/notes", headers=desk.headers)
        ).status_code == 403
