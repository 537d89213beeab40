"""Demo register content: a DPIA for the health files, a few requests, an incident, a breach.

The Art. 30 entries themselves are seeded by migration register_0003 (they are real, not demo).
Everything here goes through the API as the demo security officer (or admin without it).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from common.trail import SEEDING_HEADERS

HEALTH_FILES = "6f1a3c52-0d7e-4c55-9a11-3b0a52c1e001"
MARKER = "Demo: print-out left at the printer"


async def _headers(http: httpx.AsyncClient, stack: Any, shared: dict) -> dict[str, str]:
    officers = shared.get("users", {}).get("security_officer") or []
    username, password = (
        (officers[0]["username"], officers[0]["password"])
        if officers
        else ("admin", stack.admin_password)
    )
    resp = await http.post(
        f"{stack.url('identity')}/auth/login", json={"username": username, "password": password}
    )
    resp.raise_for_status()
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


async def _post(http: httpx.AsyncClient, url: str, body: dict, headers: dict) -> dict[str, Any]:
    resp = await http.post(url, json=body, headers=headers)
    resp.raise_for_status()
    return dict(resp.json())


async def _patch(http: httpx.AsyncClient, url: str, body: dict, headers: dict) -> dict[str, Any]:
    resp = await http.patch(url, json=body, headers=headers)
    resp.raise_for_status()
    return dict(resp.json())


async def seed(stack: Any, shared: dict) -> None:
    """Add the demo content once (skipped when the marker incident exists)."""
    base = stack.url("register")
    async with httpx.AsyncClient(headers=SEEDING_HEADERS, timeout=30) as http:
        headers = await _headers(http, stack, shared)
        existing = await http.get(f"{base}/incidents", headers=headers)
        existing.raise_for_status()
        if any(i["title"] == MARKER for i in existing.json()):
            stack.say("  register: demo content already there")
            return
        await _dpia(http, base, headers)
        requests = await _requests(http, base, headers, list(shared.get("workers") or []))
        await _incidents(http, base, headers)
    stack.say(f"  register: 1 DPIA, {requests} subject requests, 2 incidents (1 breach)")


async def _dpia(http: httpx.AsyncClient, base: str, headers: dict) -> None:
    dpia = await _post(
        http,
        f"{base}/dpia",
        {
            "activity_id": HEALTH_FILES,
            "title": "DPIA of the computerized worker health files",
            "context": "Health data of about 252,000 workers, kept 15 to 40 years.",
            "risks": [
                {
                    "kind": "illegitimate_access", "likelihood": "limited",
                    "severity": "maximum", "sources": ["Curious colleague", "Intruder"],
                    "existing_measures": ["Access grid", "Traces and alerts", "Lockout"],
                    "planned_measures": ["Quarterly review of grants"],
                },
                {
                    "kind": "unwanted_modification", "likelihood": "negligible",
                    "severity": "significant", "existing_measures": ["Versioned exams"],
                },
                {
                    "kind": "disappearance", "likelihood": "negligible", "severity": "maximum",
                    "existing_measures": ["Daily backups", "Remote copy", "Restore tests"],
                },
            ],
            "dpo_opinion": "Residual risks acceptable given the measures in place.",
        },
        headers,
    )  # fmt: skip
    await _patch(http, f"{base}/dpia/{dpia['id']}", {"version": 1, "status": "validated"}, headers)


async def _requests(http: httpx.AsyncClient, base: str, headers: dict, workers: list[str]) -> int:
    workers = workers or ["demo-worker-1", "demo-worker-2", "demo-worker-3", "demo-worker-4"]
    today = date.today()
    url = f"{base}/subject-requests"

    def body(kind: str, worker: str, days_ago: int, details: str) -> dict[str, str]:
        received = (today - timedelta(days=days_ago)).isoformat()
        return {"kind": kind, "worker_id": worker, "received_on": received, "details": details}

    await _post(http, url, body("access", workers[0], 3, "Copy of my file"), headers)
    await _post(
        http, url, body("rectification", workers[1 % len(workers)], 45, "Wrong employer"), headers
    )
    extended = await _post(
        http, url, body("portability", workers[2 % len(workers)], 20, "Files since 2001"), headers
    )
    await _post(
        http, f"{url}/{extended['id']}/extension",
        {"reason": "Archives of three exam centres to gather"}, headers,
    )  # fmt: skip
    refused = await _post(
        http, url, body("erasure", workers[3 % len(workers)], 12, "Delete my file"), headers
    )
    await _patch(http, f"{url}/{refused['id']}", {"status": "in_progress"}, headers)
    await _patch(
        http, f"{url}/{refused['id']}",
        {"status": "refused", "refusal_reason": "The file is kept by law (40 years, asbestos)."},
        headers,
    )  # fmt: skip
    return 4


async def _incidents(http: httpx.AsyncClient, base: str, headers: dict) -> None:
    await _post(
        http, f"{base}/incidents",
        {"kind": "printout_left_at_printer", "title": MARKER,
         "description": "An exam report was found at the shared printer of a fixed centre."},
        headers,
    )  # fmt: skip
    aware = datetime.now(UTC) - timedelta(hours=6)
    breach = await _post(
        http, f"{base}/incidents",
        {
            "kind": "misdirected_medical_data",
            "title": "Lab results e-mailed to the wrong employer",
            "personal_data_breach": True, "aware_at": aware.isoformat(),
            "breach_nature": ["confidentiality"], "subject_categories": ["Workers"],
            "approx_subjects": 3, "data_categories": ["Lab results"], "approx_records": 3,
            "likely_consequences": "Disclosure of health data to an employer",
            "measures_taken": "Recipient asked to delete; confirmation received",
            "dpo_contact": "dpo@ohs.example",
        },
        headers,
    )  # fmt: skip
    await _post(
        http, f"{base}/incidents/{breach['id']}/notification",
        {"authority_reference": "DEMO-2026-001"}, headers,
    )  # fmt: skip
