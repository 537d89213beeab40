"""Demo accesses for the portal: the first demo workers' files are read by their physician,
personal notes included, so `demo.worker1` sees a withheld note access at once."""

from __future__ import annotations

from typing import Any

import httpx

from common.trail import SEEDING_HEADERS

DEMO_STAFF_PASSWORD = "Demo-Staff-2026!"  # noqa: S105 - the documented demo password


async def seed(stack: Any, shared: dict[str, Any]) -> None:
    """dr.martens reads each demo worker's file and notes (traced like any access)."""
    accounts = shared.get("users", {}).get("worker", [])
    if not accounts:
        return
    try:
        await _reads(stack, accounts)
    except httpx.HTTPError as exc:  # demo data is a convenience: never stop the stack for it
        stack.say(f"  portal: demo accesses skipped ({type(exc).__name__})")
        return
    stack.say(f"  portal: demo accesses on {len(accounts)} worker files (a note read each)")


async def _reads(stack: Any, accounts: list[dict[str, Any]]) -> None:
    async with httpx.AsyncClient(headers=SEEDING_HEADERS, timeout=30) as http:
        resp = await http.post(
            f"{stack.url('identity')}/auth/login",
            json={"username": "dr.martens", "password": DEMO_STAFF_PASSWORD},
        )
        if resp.status_code != 200:
            return
        headers = {"Authorization": f"Bearer {resp.json()['access_token']}"}
        base = stack.url("records")
        for account in accounts:
            worker_id = account["worker_id"]
            await http.get(f"{base}/workers/{worker_id}/record", headers=headers)
            await http.get(f"{base}/workers/{worker_id}/notes", headers=headers)
