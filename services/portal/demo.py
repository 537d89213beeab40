"""Demo accesses for the portal and the desk's story.

Seeding (flagged `X-OHS-Seeding`, so no alert rule looks at it): the first demo workers' files
are read by their physician, personal notes included, so `demo.worker1` sees a withheld note
access at once; two more files are prepared for the story.

Then the story, played as real staff actions (not flagged), so the desk has something true to
show and nothing else: it raises exactly STORY_ALERTS.
  1. nurse Julie Lambert opens the file of a colleague (a worker of the service itself);
  2. Dr Pierre Dubois opens a file outside his care team;
  3. the director grants the developer Tom Janssens access to one file for a bug, and he uses it.
"""

from __future__ import annotations

from typing import Any

import httpx

from common.trail import SEEDING_HEADERS

DEMO_STAFF_PASSWORD = "Demo-Staff-2026!"  # noqa: S105 - the documented demo password
OWN_EMPLOYER = "Occupational Health Service"
# (rule, actor username) of every alert the story raises; nothing else is open afterwards.
STORY_ALERTS = frozenset(
    {
        ("colleague_file", "nurse.lambert"),
        ("outside_care_team", "dr.dubois"),
        ("grant_use", "dev.janssens"),
        ("outside_care_team", "dev.janssens"),
    }
)


async def seed(stack: Any, shared: dict[str, Any]) -> None:
    """The seeded reads, then the story (skipped without the demo staff)."""
    accounts = shared.get("users", {}).get("worker", [])
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            if accounts:
                await _reads(stack, http, accounts)
                stack.say(
                    f"  portal: demo accesses on {len(accounts)} worker files (a note read each)"
                )
            if await play_story(stack, http):
                stack.say(
                    "  desk: the demo story raised its alerts (a nurse in a colleague's file, "
                    "a physician outside the care team, a developer's grant)"
                )
    except httpx.HTTPError as exc:  # demo data is a convenience: never stop the stack for it
        stack.say(f"  portal: demo accesses skipped ({type(exc).__name__})")


async def _login(http: httpx.AsyncClient, stack: Any, username: str) -> dict[str, str] | None:
    resp = await http.post(
        f"{stack.url('identity')}/auth/login",
        json={"username": username, "password": DEMO_STAFF_PASSWORD},
    )
    if resp.status_code != 200:
        return None
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


async def _reads(stack: Any, http: httpx.AsyncClient, accounts: list[dict[str, Any]]) -> None:
    headers = await _login(http, stack, "dr.martens")
    if headers is None:
        return
    headers = {**headers, **SEEDING_HEADERS}
    base = stack.url("records")
    for account in accounts:
        worker_id = account["worker_id"]
        await http.get(f"{base}/workers/{worker_id}/record", headers=headers)
        await http.get(f"{base}/workers/{worker_id}/notes", headers=headers)


async def _user_id(http: httpx.AsyncClient, stack: Any, headers: dict[str, str]) -> str:
    resp = await http.get(f"{stack.url('identity')}/users/me", headers=headers)
    resp.raise_for_status()
    return str(resp.json()["id"])


async def play_story(stack: Any, http: httpx.AsyncClient) -> bool:
    """The story; False when the demo staff are missing."""
    martens = await _login(http, stack, "dr.martens")
    lambert = await _login(http, stack, "nurse.lambert")
    dubois = await _login(http, stack, "dr.dubois")
    director = await _login(http, stack, "dir.vermeulen")
    if not (martens and lambert and dubois and director):
        return False
    base = stack.url("records")
    seeded = {**martens, **SEEDING_HEADERS}
    martens_id = await _user_id(http, stack, martens)
    lambert_id = await _user_id(http, stack, lambert)

    async def new_file(first: str, last: str, employer: str, team: list[str]) -> str:
        body = {
            "first_name": first,
            "last_name": last,
            "birth_date": "1984-05-17",
            "employer": employer,
            "job_title": "Nurse" if employer == OWN_EMPLOYER else "Welder",
            "care_team": team,
        }
        resp = await http.post(f"{base}/workers", json=body, headers=seeded)
        resp.raise_for_status()
        return str(resp.json()["id"])

    # Prepared (seeded): a colleague's file in Lambert's care team, and one of Dr Martens'.
    colleague = await new_file("Eva", "Claessens", OWN_EMPLOYER, [martens_id, lambert_id])
    patient = await new_file("Ruben", "Aerts", "Acme Steelworks", [martens_id])

    # 1. Curiosity: the nurse opens her colleague's file.
    (await http.get(f"{base}/workers/{colleague}/record", headers=lambert)).raise_for_status()
    # 2. A physician outside the care team.
    (await http.get(f"{base}/workers/{patient}/record", headers=dubois)).raise_for_status()
    # 3. A developer's grant, approved by the director, used once.
    developer = await _login(http, stack, "dev.janssens")
    if developer is None:
        return False
    grant = await http.post(
        f"{stack.url('identity')}/access-grants",
        json={
            "grantee_id": await _user_id(http, stack, developer),
            "worker_id": patient,
            "reason": "Ticket OPS-412: the exam list of this file does not render",
            "minutes": 30,
        },
        headers=director,
    )
    grant.raise_for_status()
    developer = await _login(http, stack, "dev.janssens")  # a token that carries the grant
    assert developer is not None
    (await http.get(f"{base}/workers/{patient}/record", headers=developer)).raise_for_status()
    return True
