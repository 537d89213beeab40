"""Demo staff of every profile, created through identity's API by the bootstrap admin.

Every demo account uses the documented demo password DEMO_PASSWORD. Worker accounts are
not made here: worker files do not exist yet when identity seeds (records comes next).
"""

from __future__ import annotations

from typing import Any

import httpx

from common.trail import SEEDING_HEADERS

DEMO_PASSWORD = "Demo-Staff-2026!"  # noqa: S105 - documented demo value, demo data only

STAFF: list[tuple[str, str, str]] = [
    ("physician", "dr.martens", "Dr Lies Martens"),
    ("physician", "dr.dubois", "Dr Pierre Dubois"),
    ("assistant", "nurse.peeters", "Sofie Peeters"),
    ("assistant", "nurse.lambert", "Julie Lambert"),
    ("developer", "dev.janssens", "Tom Janssens"),
    ("helpdesk", "help.claes", "Nora Claes"),
    ("admin_staff", "admin.wouters", "Koen Wouters"),
    ("medical_director", "dir.vermeulen", "Dr An Vermeulen"),
    ("security_officer", "dpo.maes", "Marc Maes"),
]


async def _existing_id(http: httpx.AsyncClient, base: str, headers: dict, username: str) -> str:
    resp = await http.get(f"{base}/users", params={"q": username}, headers=headers)
    resp.raise_for_status()
    return next(str(u["id"]) for u in resp.json() if u["username"] == username)


async def seed(stack: Any, shared: dict) -> None:
    """Create the demo staff (idempotent) and publish them in shared["users"] by profile."""
    base = stack.url("identity")
    users: dict[str, list[dict[str, str]]] = {}
    async with httpx.AsyncClient(headers=SEEDING_HEADERS, timeout=30) as http:
        login = await http.post(
            f"{base}/auth/login", json={"username": "admin", "password": stack.admin_password}
        )
        login.raise_for_status()
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        for profile, username, display_name in STAFF:
            body = {
                "username": username,
                "display_name": display_name,
                "profile": profile,
                "password": DEMO_PASSWORD,
                # Documented development-only passwords: no change forced at first login.
                "password_change_required": False,
            }
            resp = await http.post(f"{base}/users", json=body, headers=headers)
            if resp.status_code == 409:
                user_id = await _existing_id(http, base, headers, username)
            else:
                resp.raise_for_status()
                user_id = str(resp.json()["id"])
            users.setdefault(profile, []).append(
                {
                    "id": user_id,
                    "username": username,
                    "password": DEMO_PASSWORD,
                    "display_name": display_name,
                }
            )
    shared["users"] = users
    stack.say(f"  {len(STAFF)} staff accounts of every profile, password {DEMO_PASSWORD}")
