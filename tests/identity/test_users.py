"""Accounts: only the security officer creates and lists them; bad inputs never half-write."""

from __future__ import annotations

import httpx
import pytest

from common.devstack import Stack
from tests.helpers import PASSWORD, make_user
from tests.identity.support import assert_problem, events, fresh_user, officer, sql

pytestmark = pytest.mark.asyncio


def new_user(**extra: object) -> dict[str, object]:
    """A valid POST /users body."""
    return {
        "username": "someone-new",
        "display_name": "Someone New",
        "profile": "assistant",
        "password": PASSWORD,
        **extra,
    }


class TestCreateUser:
    async def test_created_and_traced(self, stack: Stack, http: httpx.AsyncClient):
        so = await officer(http, stack)
        resp = await http.post(
            f"{stack.url('identity')}/users",
            json=new_user(username="Mixed.Case-User"),
            headers=so.headers,
        )
        assert resp.status_code == 201, resp.text
        user = resp.json()
        assert user["username"] == "mixed.case-user"
        assert user["created_by"] == so.id
        assert "password_hash" not in user and "password" not in user
        (event,) = events(stack, "account_created", about=user["id"])
        assert event["actor"]["user_id"] == so.id
        assert PASSWORD not in str(event)

    async def test_duplicate_username_is_409(self, stack: Stack, http: httpx.AsyncClient):
        so = await officer(http, stack)
        body = new_user(username="dupe-user")
        assert (
            await http.post(f"{stack.url('identity')}/users", json=body, headers=so.headers)
        ).status_code == 201
        body["username"] = "DUPE-user"
        resp = await http.post(f"{stack.url('identity')}/users", json=body, headers=so.headers)
        assert_problem(resp, 409)

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"username": "x"}, "body.username"),
            ({"username": "has space"}, "body.username"),
            ({"display_name": "   "}, "body.display_name"),
            ({"profile": "superuser"}, "body.profile"),
            ({"worker_id": "w-1"}, "body.worker_id"),
            ({"guardian_of": ["w-1"], "ward_birth_dates": {"w-1": "2015-01-01"}}, "body.worker_id"),
            ({"is_admin": True}, "body.is_admin"),
            ({"password": ""}, "body.password"),
            ({"display_name": "Nul\u0000Name"}, "body.display_name"),
        ],
    )
    async def test_bad_inputs(
        self, stack: Stack, http: httpx.AsyncClient, change: dict, field: str
    ):
        so = await officer(http, stack)
        body = {**new_user(username="bad-input-user"), **change}
        resp = await http.post(f"{stack.url('identity')}/users", json=body, headers=so.headers)
        problem = assert_problem(resp, 422)
        assert field in {e["field"] for e in problem["errors"]}
        assert sql(stack, "SELECT count(*) FROM account WHERE username = 'bad-input-user'") == "0"

    async def test_malformed_json(self, stack: Stack, http: httpx.AsyncClient):
        so = await officer(http, stack)
        resp = await http.post(
            f"{stack.url('identity')}/users",
            content=b'{"username": ',
            headers={**so.headers, "content-type": "application/json"},
        )
        assert_problem(resp, 400)

    @pytest.mark.parametrize("profile", ["physician", "medical_director", "developer", "worker"])
    async def test_only_the_security_officer_creates(
        self, stack: Stack, http: httpx.AsyncClient, profile: str
    ):
        caller = await fresh_user(http, stack, profile)
        resp = await http.post(
            f"{stack.url('identity')}/users",
            json=new_user(username="not-created"),
            headers=caller.headers,
        )
        assert_problem(resp, 403)
        resp = await http.post(
            f"{stack.url('identity')}/users", json=new_user(username="not-created")
        )
        assert_problem(resp, 401)
        assert sql(stack, "SELECT count(*) FROM account WHERE username = 'not-created'") == "0"


class TestReadUsers:
    async def test_listing(self, stack: Stack, http: httpx.AsyncClient):
        dev = await make_user(http, stack, "developer", display_name="Findable Developer")
        director = await make_user(http, stack, "medical_director")
        base = f"{stack.url('identity')}/users"
        found = (await http.get(base, params={"q": "findable"}, headers=director.headers)).json()
        assert [u["id"] for u in found] == [dev.id]
        devs = (
            await http.get(base, params={"profile": "developer"}, headers=director.headers)
        ).json()
        assert dev.id in {u["id"] for u in devs}
        physician = await fresh_user(http, stack)
        assert_problem(await http.get(base, headers=physician.headers), 403)
        assert_problem(
            await http.get(base, params={"profile": "king"}, headers=director.headers), 422
        )

    async def test_one_user(self, stack: Stack, http: httpx.AsyncClient):
        user = await fresh_user(http, stack)
        other = await fresh_user(http, stack)
        base = f"{stack.url('identity')}/users"
        assert (await http.get(f"{base}/{user.id}", headers=user.headers)).status_code == 200
        assert_problem(await http.get(f"{base}/{other.id}", headers=user.headers), 403)
        so = await officer(http, stack)
        assert_problem(
            await http.get(f"{base}/00000000-0000-4000-8000-000000000000", headers=so.headers), 404
        )
        assert_problem(await http.get(f"{base}/me"), 401)


class TestControlCharacters:
    async def test_nul_characters_are_422_not_5xx(self, stack: Stack, http: httpx.AsyncClient):
        base = stack.url("identity")
        resp = await http.post(f"{base}/auth/login", json={"username": "a\u0000b", "password": "x"})
        assert_problem(resp, 422)
        so = await officer(http, stack)
        resp = await http.get(f"{base}/users", params={"q": "a\u0000"}, headers=so.headers)
        assert_problem(resp, 422)
        director = await make_user(http, stack, "medical_director")
        dev = await fresh_user(http, stack, "developer")
        resp = await http.post(
            f"{base}/access-grants",
            json={"grantee_id": dev.id, "reason": "Because\u0000why", "minutes": 5},
            headers=director.headers,
        )
        assert_problem(resp, 422)
