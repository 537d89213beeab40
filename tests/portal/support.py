"""A worker's file with accesses on it, for the portal's and the contests' tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from common.devstack import Stack
from tests.helpers import Account, eventually, make_user


@dataclass
class Scenario:
    """A physician who opened a worker's file (a read and a personal note), and the worker."""

    physician: Account
    worker: Account
    worker_id: str


async def open_file(http: httpx.AsyncClient, stack: Stack, **extra: Any) -> Scenario:
    """A new file by a new physician, its note, the worker's account; one read of each kind."""
    physician = await make_user(
        http, stack, "physician", display_name=extra.pop("physician_name", "Dr Martens Test")
    )
    base = stack.url("records")
    resp = await http.post(
        f"{base}/workers",
        json={
            "first_name": "Ana",
            "last_name": extra.pop("last_name", "Portal"),
            "birth_date": "1986-02-03",
            "employer": "Acme Steelworks",
            "care_team": [physician.id],
        },
        headers=physician.headers,
    )
    assert resp.status_code == 201, resp.text
    worker_id = resp.json()["id"]
    resp = await http.post(
        f"{base}/workers/{worker_id}/notes",
        json={"text": "Private impression: SECRET-NOTE-CONTENT"},
        headers=physician.headers,
    )
    assert resp.status_code == 201, resp.text
    worker = await make_user(http, stack, "worker", worker_id=worker_id)
    return Scenario(physician, worker, worker_id)


async def read_record(http: httpx.AsyncClient, stack: Stack, who: Account, worker_id: str) -> None:
    """A read of the whole file."""
    resp = await http.get(f"{stack.url('records')}/workers/{worker_id}/record", headers=who.headers)
    assert resp.status_code == 200, resp.text


async def read_notes(http: httpx.AsyncClient, stack: Stack, who: Account, worker_id: str) -> None:
    """A read of the physician's personal notes."""
    resp = await http.get(f"{stack.url('records')}/workers/{worker_id}/notes", headers=who.headers)
    assert resp.status_code == 200, resp.text


async def history(http: httpx.AsyncClient, stack: Stack, worker: Account) -> list[dict[str, Any]]:
    """The worker's own history, first page."""
    resp = await http.get(
        f"{stack.url('audit')}/me/access-history", headers=worker.headers, params={"limit": 200}
    )
    assert resp.status_code == 200, resp.text
    return list(resp.json()["items"])


async def entry_of(
    http: httpx.AsyncClient, stack: Stack, worker: Account, action: str, part: str | None = None
) -> dict[str, Any]:
    """Wait until the history shows an entry of this action (and part); return it."""

    async def probe() -> dict[str, Any] | None:
        for e in await history(http, stack, worker):
            wanted = e["action"] == action and (part is None or e["part"] == part)
            if wanted and e["outcome"] == "success":
                return e
        return None

    return await eventually(probe, timeout=30)
