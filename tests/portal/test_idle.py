"""An idle portal session ends and the login page says why."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

from common.devstack import Stack
from portal.app import build_app
from portal.settings import Settings
from tests.helpers import PASSWORD, make_user

pytestmark = pytest.mark.asyncio


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


class TestIdleSession:
    async def test_an_idle_session_ends_and_the_page_says_so(
        self, stack: Stack, http: httpx.AsyncClient
    ):
        worker = await make_user(http, stack, "worker", worker_id="w-idle")
        settings = Settings(
            idle_seconds=1,
            identity_url=stack.url("identity"),
            records_url=stack.url("records"),
            register_url=stack.url("register"),
            audit_url=stack.url("audit"),
        )
        app = build_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://portal") as client:
                login = await client.get("/")
                resp = await client.post(
                    "/login",
                    data={
                        "username": worker.username,
                        "password": PASSWORD,
                        "csrf_token": csrf_of(login.text),
                    },
                )
                assert resp.status_code == 303, resp.text[:500]
                assert resp.headers["location"].endswith("/history")
                assert (await client.get("/history")).status_code == 200
                await asyncio.sleep(1.5)
                ended = await client.get("/history")
                assert ended.status_code == 303
                page = await client.get(ended.headers["location"])
                assert "Your session ended" in page.text
                again = await client.get("/history")
                assert again.status_code == 303, "the idle session must not come back"
