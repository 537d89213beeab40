"""Issue 13, identity: an account the security officer created changes its password first.

Until then its access token carries `pwd_change: true` and every service refuses it with 403
`password-change-required`, except identity's POST /users/me/password, GET /users/me and
POST /auth/logout.
"""

from __future__ import annotations

import time

import httpx
import pytest
from jose import jwt

from common.devstack import Stack
from tests.helpers import INITIAL_PASSWORD, PASSWORD, admin, login
from tests.identity.support import assert_problem, officer

pytestmark = pytest.mark.asyncio


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def created(http: httpx.AsyncClient, stack: Stack, profile: str, **extra: object) -> str:
    """A new account, created by the security officer; its username."""
    so = await officer(http, stack)
    username = f"first-{profile[:4]}-{time.monotonic_ns() % 10**12}"
    resp = await http.post(
        f"{stack.url('identity')}/users",
        json={
            "username": username,
            "display_name": "First Login",
            "profile": profile,
            "password": INITIAL_PASSWORD,
            **extra,
        },
        headers=so.headers,
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["password_change_required"] is (extra.get("password_change_required", True))
    return username


def assert_change_required(resp: httpx.Response) -> None:
    body = assert_problem(resp, 403)
    assert body["type"].endswith("/password-change-required"), body
    assert "password change required" in body["detail"].lower()


class TestRestrictedToken:
    async def test_login_answers_200_with_the_claim(self, stack: Stack, http: httpx.AsyncClient):
        username = await created(http, stack, "physician")
        tokens = await login(http, stack, username, INITIAL_PASSWORD)
        assert tokens["password_change_required"] is True
        assert jwt.get_unverified_claims(tokens["access_token"])["pwd_change"] is True

    async def test_identity_allows_only_me_password_and_logout(
        self, stack: Stack, http: httpx.AsyncClient
    ):
        base = stack.url("identity")
        username = await created(http, stack, "security_officer")
        tokens = await login(http, stack, username, INITIAL_PASSWORD)
        headers = bearer(tokens["access_token"])
        me = await http.get(f"{base}/users/me", headers=headers)
        assert me.status_code == 200, me.text
        assert me.json()["password_change_required"] is True
        assert_change_required(await http.get(f"{base}/users", headers=headers))
        assert_change_required(await http.get(f"{base}/access-grants", headers=headers))
        assert_change_required(await http.get(f"{base}/users/{me.json()['id']}", headers=headers))
        assert (await http.post(f"{base}/auth/logout", headers=headers)).status_code == 204

    async def test_records_and_audit_refuse_it_until_the_change(
        self, stack: Stack, http: httpx.AsyncClient
    ):
        if not {"records", "audit"} <= set(stack.services):
            pytest.skip("records and audit are not running in this focused run")
        base = stack.url("identity")
        username = await created(http, stack, "medical_director")
        tokens = await login(http, stack, username, INITIAL_PASSWORD)
        headers = bearer(tokens["access_token"])
        search = (f"{stack.url('records')}/workers", {"q": "nobody"})
        alerts = (f"{stack.url('audit')}/alerts", {})
        for url, params in (search, alerts):
            assert_change_required(await http.get(url, params=params, headers=headers))

        resp = await http.post(
            f"{base}/users/me/password",
            json={"current_password": INITIAL_PASSWORD, "new_password": PASSWORD},
            headers=headers,
        )
        assert resp.status_code == 204, resp.text
        # The old token keeps its claim; a refresh (or a new login) gives a full one.
        assert_change_required(await http.get(search[0], params=search[1], headers=headers))
        resp = await http.post(
            f"{base}/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        assert resp.status_code == 200, resp.text
        assert resp.json()["password_change_required"] is False
        assert "pwd_change" not in jwt.get_unverified_claims(resp.json()["access_token"])
        headers = bearer(resp.json()["access_token"])
        for url, params in (search, alerts):
            resp = await http.get(url, params=params, headers=headers)
            assert resp.status_code == 200, resp.text
        again = await login(http, stack, username, PASSWORD)
        assert again["password_change_required"] is False


class TestExempt:
    async def test_bootstrap_admin_is_not_asked(self, stack: Stack, http: httpx.AsyncClient):
        tokens = await login(http, stack, "admin", stack.admin_password)
        assert tokens["password_change_required"] is False
        assert "pwd_change" not in jwt.get_unverified_claims(tokens["access_token"])
        so = await admin(http, stack)
        assert (
            await http.get(f"{stack.url('identity')}/users", headers=so.headers)
        ).status_code == 200

    async def test_development_accounts_may_skip_it(self, stack: Stack, http: httpx.AsyncClient):
        """Demo accounts (documented passwords, development only) are created this way."""
        username = await created(http, stack, "physician", password_change_required=False)
        tokens = await login(http, stack, username, INITIAL_PASSWORD)
        assert tokens["password_change_required"] is False
        resp = await http.get(
            f"{stack.url('identity')}/users", headers=bearer(tokens["access_token"])
        )
        assert_problem(resp, 403)  # a physician may not list accounts: the grid, not the claim
        assert not resp.json()["type"].endswith("/password-change-required")
