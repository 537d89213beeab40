"""Rotating refresh tokens, reuse detection, idle timeout, logout, deactivation, profile change."""

from __future__ import annotations

import httpx
import pytest

from common.devstack import Stack
from tests.helpers import PASSWORD, eventually
from tests.identity.support import assert_problem, events, fresh_user, officer, raw_login, sql

pytestmark = pytest.mark.asyncio


def bearer(token: str) -> dict[str, str]:
    """Authorization header."""
    return {"Authorization": f"Bearer {token}"}


async def refresh(http: httpx.AsyncClient, stack: Stack, token: str) -> httpx.Response:
    """POST /auth/refresh."""
    return await http.post(f"{stack.url('identity')}/auth/refresh", json={"refresh_token": token})


async def session_state(http: httpx.AsyncClient, stack: Stack, access: str) -> int:
    """Status of GET /auth/session."""
    return (
        await http.get(f"{stack.url('identity')}/auth/session", headers=bearer(access))
    ).status_code


class TestRefreshRotation:
    async def test_refresh_gives_new_tokens_once(self, stack: Stack, http: httpx.AsyncClient):
        user = await fresh_user(http, stack)
        resp = await refresh(http, stack, user.refresh_token)
        assert resp.status_code == 200, resp.text
        new = resp.json()
        assert new["refresh_token"] != user.refresh_token
        assert new["access_token"] != user.token
        assert await session_state(http, stack, new["access_token"]) == 200

    async def test_reused_refresh_token_kills_the_session(
        self, stack: Stack, http: httpx.AsyncClient
    ):
        user = await fresh_user(http, stack)
        rotated = (await refresh(http, stack, user.refresh_token)).json()
        body = assert_problem(await refresh(http, stack, user.refresh_token), 401)
        assert "reused" in body["detail"]
        # The thief's replay ended the session for the legitimate holder too.
        assert_problem(await refresh(http, stack, rotated["refresh_token"]), 401)
        assert await session_state(http, stack, rotated["access_token"]) == 401
        assert await session_state(http, stack, user.token) == 401
        (revoked,) = events(stack, "session_revoked", about=user.id)
        assert revoked["details"]["reason"] == "refresh_token_reuse"
        # Other sessions of the same account are untouched.
        assert (await raw_login(http, stack, user.username, PASSWORD)).status_code == 200

    async def test_unknown_and_malformed_refresh_tokens(
        self, stack: Stack, http: httpx.AsyncClient
    ):
        assert_problem(await refresh(http, stack, "not-a-token"), 401)
        resp = await http.post(f"{stack.url('identity')}/auth/refresh", json={})
        assert_problem(resp, 422)
        resp = await http.post(
            f"{stack.url('identity')}/auth/refresh",
            content=b"{nope",
            headers={"content-type": "application/json"},
        )
        assert_problem(resp, 400)


class TestIdleTimeout:
    async def test_idle_session_ends(self, stack: Stack, http: httpx.AsyncClient):
        user = await fresh_user(http, stack)
        sql(
            stack,
            "UPDATE session SET last_seen_at = now() - interval '16 minutes' "
            f"WHERE account_id = '{user.id}'",
        )
        assert await session_state(http, stack, user.token) == 401
        body = assert_problem(await refresh(http, stack, user.refresh_token), 401)
        assert "idle_timeout" in body["detail"]

    async def test_refresh_within_the_timeout_keeps_it_alive(
        self, stack: Stack, http: httpx.AsyncClient
    ):
        user = await fresh_user(http, stack)
        sql(
            stack,
            "UPDATE session SET last_seen_at = now() - interval '14 minutes' "
            f"WHERE account_id = '{user.id}'",
        )
        new = await refresh(http, stack, user.refresh_token)
        assert new.status_code == 200
        assert await session_state(http, stack, new.json()["access_token"]) == 200


class TestLogout:
    async def test_logout_ends_the_session(self, stack: Stack, http: httpx.AsyncClient):
        user = await fresh_user(http, stack)
        base = stack.url("identity")
        resp = await http.post(f"{base}/auth/logout", headers=user.headers)
        assert resp.status_code == 204
        assert await session_state(http, stack, user.token) == 401
        assert_problem(await http.get(f"{base}/users/me", headers=user.headers), 401)
        assert_problem(await refresh(http, stack, user.refresh_token), 401)
        assert len(events(stack, "logout", about=user.id)) == 1

    async def test_logout_needs_a_token(self, stack: Stack, http: httpx.AsyncClient):
        assert_problem(await http.post(f"{stack.url('identity')}/auth/logout"), 401)
        resp = await http.post(
            f"{stack.url('identity')}/auth/logout", headers=bearer("garbage.token.here")
        )
        assert_problem(resp, 401)


class TestDeactivation:
    async def test_deactivation_revokes_everything_at_once(
        self, stack: Stack, http: httpx.AsyncClient
    ):
        user = await fresh_user(http, stack)
        second = (await raw_login(http, stack, user.username, PASSWORD)).json()
        so = await officer(http, stack)
        resp = await http.patch(
            f"{stack.url('identity')}/users/{user.id}", json={"active": False}, headers=so.headers
        )
        assert resp.status_code == 200, resp.text
        assert resp.json()["active"] is False
        for access in (user.token, second["access_token"]):
            assert await session_state(http, stack, access) == 401
        for token in (user.refresh_token, second["refresh_token"]):
            assert_problem(await refresh(http, stack, token), 401)
        assert_problem(await raw_login(http, stack, user.username, PASSWORD), 401)
        (event,) = events(stack, "account_deactivated", about=user.id)
        assert event["details"]["sessions_ended"] == 2
        assert (
            sql(
                stack,
                "SELECT count(*) FROM refresh_token r JOIN session s ON s.id = r.session_id "
                f"WHERE s.account_id = '{user.id}' AND r.revoked_at IS NULL AND r.used_at IS NULL",
            )
            == "0"
        )

    async def test_records_refuses_the_token_within_seconds(
        self, stack: Stack, http: httpx.AsyncClient
    ):
        if "records" not in stack.services:
            pytest.skip("records is not running in this focused run")
        user = await fresh_user(http, stack)
        url = f"{stack.url('records')}/workers"
        before = await http.get(url, params={"q": "nobody"}, headers=user.headers)
        assert before.status_code != 401, before.text
        so = await officer(http, stack)
        await http.patch(
            f"{stack.url('identity')}/users/{user.id}", json={"active": False}, headers=so.headers
        )

        async def refused() -> bool:
            resp = await http.get(url, params={"q": "nobody"}, headers=user.headers)
            return resp.status_code == 401

        # The token itself is valid for minutes; the session check (cached 5 s) refuses it.
        await eventually(refused, timeout=10, interval=0.5)

    async def test_reactivation(self, stack: Stack, http: httpx.AsyncClient):
        user = await fresh_user(http, stack)
        so = await officer(http, stack)
        base = f"{stack.url('identity')}/users/{user.id}"
        await http.patch(base, json={"active": False}, headers=so.headers)
        resp = await http.patch(base, json={"active": True}, headers=so.headers)
        assert resp.json()["active"] is True
        assert (await raw_login(http, stack, user.username, PASSWORD)).status_code == 200


class TestProfileChange:
    async def test_profile_change_invalidates_old_tokens(
        self, stack: Stack, http: httpx.AsyncClient
    ):
        user = await fresh_user(http, stack, "assistant")
        so = await officer(http, stack)
        resp = await http.patch(
            f"{stack.url('identity')}/users/{user.id}",
            json={"profile": "physician"},
            headers=so.headers,
        )
        assert resp.status_code == 200
        assert resp.json()["profile"] == "physician"
        assert await session_state(http, stack, user.token) == 401
        new = (await refresh(http, stack, user.refresh_token)).json()
        me = await http.get(
            f"{stack.url('identity')}/users/me", headers=bearer(new["access_token"])
        )
        assert me.json()["profile"] == "physician"
        (event,) = events(stack, "profile_changed", about=user.id)
        assert (event["details"]["from"], event["details"]["to"]) == ("assistant", "physician")

    async def test_bad_patches(self, stack: Stack, http: httpx.AsyncClient):
        user = await fresh_user(http, stack)
        so = await officer(http, stack)
        base = f"{stack.url('identity')}/users"
        assert_problem(
            await http.patch(f"{base}/{user.id}", json={"profile": "king"}, headers=so.headers), 422
        )
        assert_problem(
            await http.patch(f"{base}/{user.id}", json={"username": "x"}, headers=so.headers), 422
        )
        assert_problem(
            await http.patch(
                f"{base}/00000000-0000-4000-8000-000000000000",
                json={"active": False},
                headers=so.headers,
            ),
            404,
        )
        # Only the security officer changes profiles, not even for themselves.
        assert_problem(
            await http.patch(
                f"{base}/{user.id}", json={"profile": "medical_director"}, headers=user.headers
            ),
            403,
        )
