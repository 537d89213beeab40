"""Password policy, history of 15, and expiry forcing a change."""

from __future__ import annotations

import httpx
import pytest

from common.devstack import Stack
from tests.helpers import PASSWORD, Account, login
from tests.identity.support import assert_problem, events, fresh_user, officer, raw_login, sql

pytestmark = pytest.mark.asyncio

CASES = [
    ("Sh0rt!x", {"min_length"}),
    ("abcdefghijkl", {"digits", "special"}),
    ("1234567890!!", {"letters"}),
    ("Abcdefghij12", {"special"}),
    ("!!!!!!!!!!!!", {"letters", "digits"}),
    ("Password123!", {"common"}),
    ("Welcome-2025!", {"common"}),
    ("qwerty", {"min_length", "digits", "special", "common"}),
]


async def change(
    http: httpx.AsyncClient, stack: Stack, user: Account, current: str, new: str, token: str = ""
) -> httpx.Response:
    """POST /users/me/password."""
    return await http.post(
        f"{stack.url('identity')}/users/me/password",
        json={"current_password": current, "new_password": new},
        headers={"Authorization": f"Bearer {token or user.token}"},
    )


class TestPolicyOnCreate:
    @pytest.mark.parametrize(("password", "rules"), CASES)
    async def test_each_rule_is_named(
        self, stack: Stack, http: httpx.AsyncClient, password: str, rules: set[str]
    ):
        so = await officer(http, stack)
        resp = await http.post(
            f"{stack.url('identity')}/users",
            json={
                "username": "policy-probe",
                "display_name": "Policy Probe",
                "profile": "physician",
                "password": password,
            },
            headers=so.headers,
        )
        body = assert_problem(resp, 422)
        assert {e["rule"] for e in body["errors"]} == rules
        assert all(e["field"] == "body.password" and e["message"] for e in body["errors"])
        assert sql(stack, "SELECT count(*) FROM account WHERE username = 'policy-probe'") == "0"


class TestPolicyOnChange:
    @pytest.mark.parametrize(("password", "rules"), CASES[:4])
    async def test_each_rule_is_named(
        self, stack: Stack, http: httpx.AsyncClient, password: str, rules: set[str]
    ):
        user = await fresh_user(http, stack)
        body = assert_problem(await change(http, stack, user, PASSWORD, password), 422)
        assert {e["rule"] for e in body["errors"]} == rules
        assert all(e["field"] == "body.new_password" for e in body["errors"])
        assert (await raw_login(http, stack, user.username, PASSWORD)).status_code == 200

    async def test_wrong_current_password(self, stack: Stack, http: httpx.AsyncClient):
        user = await fresh_user(http, stack)
        body = assert_problem(
            await change(http, stack, user, "Not-Mine-123!", "New-Secret-77#"), 422
        )
        assert body["errors"][0]["rule"] == "mismatch"
        assert len(events(stack, "login_failed", about=user.id)) == 1

    async def test_change_works_and_is_traced(self, stack: Stack, http: httpx.AsyncClient):
        user = await fresh_user(http, stack)
        # The first-login change (tests.helpers.make_user) is traced already.
        first = len(events(stack, "password_changed", about=user.id))
        other = await login(http, stack, user.username, PASSWORD)
        resp = await change(http, stack, user, PASSWORD, "Brand-New-Secret-9")
        assert resp.status_code == 204, resp.text
        assert_problem(await raw_login(http, stack, user.username, PASSWORD), 401)
        assert (
            await raw_login(http, stack, user.username, "Brand-New-Secret-9")
        ).status_code == 200
        # The session that changed the password lives on; the other one is ended.
        base = stack.url("identity")
        assert (await http.get(f"{base}/auth/session", headers=user.headers)).status_code == 200
        other_headers = {"Authorization": f"Bearer {other['access_token']}"}
        assert (await http.get(f"{base}/auth/session", headers=other_headers)).status_code == 401
        assert len(events(stack, "password_changed", about=user.id)) == first + 1

    async def test_no_token(self, stack: Stack, http: httpx.AsyncClient):
        resp = await http.post(
            f"{stack.url('identity')}/users/me/password",
            json={"current_password": PASSWORD, "new_password": "Brand-New-Secret-9"},
        )
        assert_problem(resp, 401)


class TestHistory:
    async def test_last_fifteen_passwords_are_refused(self, stack: Stack, http: httpx.AsyncClient):
        user = await fresh_user(http, stack)
        passwords = [PASSWORD] + [f"Rotation-{i:02d}-Secret!" for i in range(1, 16)]
        for i in range(1, 15):
            resp = await change(http, stack, user, passwords[i - 1], passwords[i])
            assert resp.status_code == 204, (i, resp.text)
        # 15 passwords so far (the first and 14 changes): every one of them is refused.
        for old in (passwords[0], passwords[7], passwords[14]):
            body = assert_problem(await change(http, stack, user, passwords[14], old), 422)
            assert [e["rule"] for e in body["errors"]] == ["history"]
        assert (await change(http, stack, user, passwords[14], passwords[15])).status_code == 204
        # Now the first one is sixteen passwords back: allowed again.
        assert (await change(http, stack, user, passwords[15], passwords[0])).status_code == 204


class TestExpiry:
    async def test_expired_password_forces_a_change(self, stack: Stack, http: httpx.AsyncClient):
        user = await fresh_user(http, stack)
        sql(
            stack,
            "UPDATE account SET password_changed_at = now() - interval '91 days' "
            f"WHERE id = '{user.id}'",
        )
        body = assert_problem(await raw_login(http, stack, user.username, PASSWORD), 403)
        assert body["type"].endswith("/password-expired")
        token = body["password_change_token"]
        base = stack.url("identity")
        # The change token opens nothing but the password change.
        headers = {"Authorization": f"Bearer {token}"}
        assert_problem(await http.get(f"{base}/users/me", headers=headers), 401)
        assert_problem(await http.get(f"{base}/auth/session", headers=headers), 401)
        bad = await change(http, stack, user, PASSWORD, "short", token=token)
        assert_problem(bad, 422)
        assert (
            await change(http, stack, user, PASSWORD, "Fresh-Start-2026#", token=token)
        ).status_code == 204
        assert (await raw_login(http, stack, user.username, "Fresh-Start-2026#")).status_code == 200

    async def test_eighty_nine_days_is_fine(self, stack: Stack, http: httpx.AsyncClient):
        user = await fresh_user(http, stack)
        sql(
            stack,
            "UPDATE account SET password_changed_at = now() - interval '89 days' "
            f"WHERE id = '{user.id}'",
        )
        assert (await raw_login(http, stack, user.username, PASSWORD)).status_code == 200
        so = await officer(http, stack)
        me = (await http.get(f"{stack.url('identity')}/users/{user.id}", headers=so.headers)).json()
        assert me["password_expires_at"] > me["password_changed_at"]
