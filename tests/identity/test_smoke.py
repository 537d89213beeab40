"""The first milestone other services rely on: admin, accounts, login, me, JWKS, session."""

from __future__ import annotations

import httpx
import pytest

from common.devstack import Stack
from tests.helpers import PASSWORD, admin, login, make_user

pytestmark = pytest.mark.asyncio


class TestBootstrapAdmin:
    async def test_admin_logs_in_and_is_security_officer(
        self, stack: Stack, http: httpx.AsyncClient
    ):
        officer = await admin(http, stack)
        me = (await http.get(f"{stack.url('identity')}/users/me", headers=officer.headers)).json()
        assert me["username"] == "admin"
        assert me["profile"] == "security_officer"


class TestCreateAndLogin:
    async def test_new_user_logs_in_at_once(self, stack: Stack, http: httpx.AsyncClient):
        user = await make_user(http, stack, "physician")
        tokens = await login(http, stack, user.username, PASSWORD)
        assert tokens["token_type"] == "bearer"
        assert 0 < tokens["expires_in"] <= 300
        me = await http.get(f"{stack.url('identity')}/users/me", headers=user.headers)
        assert me.status_code == 200
        assert me.json()["id"] == user.id
        assert me.json()["display_name"] == user.display_name

    async def test_session_is_active(self, stack: Stack, http: httpx.AsyncClient):
        user = await make_user(http, stack, "assistant")
        resp = await http.get(f"{stack.url('identity')}/auth/session", headers=user.headers)
        assert resp.status_code == 200
        assert resp.json()["active"] is True

    async def test_worker_account_carries_worker_id(self, stack: Stack, http: httpx.AsyncClient):
        user = await make_user(http, stack, "worker", worker_id="w-123")
        me = (await http.get(f"{stack.url('identity')}/users/me", headers=user.headers)).json()
        assert me["worker_id"] == "w-123"


class TestPublicEndpoints:
    async def test_jwks(self, stack: Stack, http: httpx.AsyncClient):
        keys = (await http.get(f"{stack.url('identity')}/.well-known/jwks.json")).json()["keys"]
        assert keys and all(k["kty"] == "RSA" and k["kid"] for k in keys)

    async def test_profiles(self, stack: Stack, http: httpx.AsyncClient):
        profiles = (await http.get(f"{stack.url('identity')}/profiles")).json()
        codes = {p["code"] for p in profiles}
        assert codes == {
            "physician", "assistant", "developer", "helpdesk", "admin_staff",
            "medical_director", "security_officer", "worker",
        }  # fmt: skip
