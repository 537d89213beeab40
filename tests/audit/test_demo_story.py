"""The demo data alone raises no alert; the demo story raises exactly its known alerts."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from common.devstack import Stack
from identity.demo import STAFF
from portal.demo import DEMO_STAFF_PASSWORD, STORY_ALERTS
from tests.helpers import eventually, make_user

pytestmark = pytest.mark.asyncio


async def test_seeding_is_silent_and_the_story_raises_its_alerts(
    stack: Stack, http: httpx.AsyncClient
):
    await stack.seed()  # identity, records, register and portal demo data, then the story
    ids: dict[str, str] = {}
    for _, username, _ in STAFF:
        login = await http.post(
            f"{stack.url('identity')}/auth/login",
            json={"username": username, "password": DEMO_STAFF_PASSWORD},
        )
        token = login.json()["access_token"]
        me = await http.get(
            f"{stack.url('identity')}/users/me", headers={"Authorization": f"Bearer {token}"}
        )
        ids[me.json()["id"]] = username
    director = await make_user(http, stack, "medical_director")

    async def demo_alerts() -> set[tuple[str, str]]:
        found: set[tuple[str, str]] = set()
        cursor = None
        while True:
            params = {"status": "all", "limit": 200, **({"cursor": cursor} if cursor else {})}
            resp = await http.get(
                f"{stack.url('audit')}/alerts", params=params, headers=director.headers
            )
            page = resp.json()
            found |= {
                (a["kind"], ids[a["actor_user_id"]])
                for a in page["items"]
                if a["actor_user_id"] in ids
            }
            cursor = page["next_cursor"]
            if not cursor:
                return found

    async def complete() -> set[tuple[str, str]] | None:
        found = await demo_alerts()
        return found if found >= STORY_ALERTS else None

    await eventually(complete, timeout=120, interval=1)
    await asyncio.sleep(3)  # anything the seeding raised would be there by now
    assert await demo_alerts() == STORY_ALERTS
