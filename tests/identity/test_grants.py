"""Access grants: medical director only, reasoned, time-limited, in the token, revocable."""

from __future__ import annotations

import httpx
import jwt
import pytest

from common.devstack import Stack
from tests.helpers import Account, eventually, make_user
from tests.identity.support import assert_problem, events, fresh_user, sql

pytestmark = pytest.mark.asyncio


def grant_body(grantee: Account, **extra: object) -> dict[str, object]:
    """A valid grant request."""
    return {
        "grantee_id": grantee.id,
        "worker_id": "worker-42",
        "reason": "Ticket 4711: exam form does not save",
        "minutes": 30,
        **extra,
    }


async def refreshed_claims(http: httpx.AsyncClient, stack: Stack, user: Account) -> dict:
    """Refresh the user's tokens and return the new access token's claims."""
    resp = await http.post(
        f"{stack.url('identity')}/auth/refresh", json={"refresh_token": user.refresh_token}
    )
    assert resp.status_code == 200, resp.text
    tokens = resp.json()
    user.token, user.refresh_token = tokens["access_token"], tokens["refresh_token"]
    return jwt.decode(user.token, options={"verify_signature": False})


class TestCreateGrant:
    async def test_grant_appears_in_the_token(self, stack: Stack, http: httpx.AsyncClient):
        director = await make_user(http, stack, "medical_director")
        dev = await fresh_user(http, stack, "developer")
        resp = await http.post(
            f"{stack.url('identity')}/access-grants", json=grant_body(dev), headers=director.headers
        )
        assert resp.status_code == 201, resp.text
        grant = resp.json()
        assert grant["status"] == "active"
        assert grant["granted_by"] == director.id
        claims = await refreshed_claims(http, stack, dev)
        (claim,) = claims["grants"]
        assert claim["id"] == grant["id"]
        assert claim["worker_id"] == "worker-42"
        assert claim["reason"] == "Ticket 4711: exam form does not save"
        (event,) = events(stack, "grant_created", about=grant["id"])
        assert event["actor"]["user_id"] == director.id
        assert event["purpose"] == claim["reason"]
        assert event["worker_id"] == "worker-42"
        assert event["details"]["grantee"]["user_id"] == dev.id

    async def test_grant_to_all_workers(self, stack: Stack, http: httpx.AsyncClient):
        director = await make_user(http, stack, "medical_director")
        desk = await fresh_user(http, stack, "helpdesk")
        body = grant_body(desk)
        del body["worker_id"]
        resp = await http.post(
            f"{stack.url('identity')}/access-grants", json=body, headers=director.headers
        )
        assert resp.status_code == 201
        assert resp.json()["worker_id"] is None

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"reason": ""}, "body.reason"),
            ({"reason": "    "}, "body.reason"),
            ({"minutes": 0}, "body.minutes"),
            ({"minutes": 10**9}, "body.minutes"),
            ({"grantee_id": "nope"}, "body.grantee_id"),
            ({"grantee_id": "00000000-0000-4000-8000-000000000000"}, "body.grantee_id"),
            ({"extra": 1}, "body.extra"),
        ],
    )
    async def test_bad_requests(
        self, stack: Stack, http: httpx.AsyncClient, change: dict, field: str
    ):
        director = await make_user(http, stack, "medical_director")
        dev = await fresh_user(http, stack, "developer")
        body = {**grant_body(dev), **change}
        resp = await http.post(
            f"{stack.url('identity')}/access-grants", json=body, headers=director.headers
        )
        problem = assert_problem(resp, 422)
        assert field in {e["field"] for e in problem["errors"]}
        assert sql(stack, f"SELECT count(*) FROM access_grant WHERE grantee_id = '{dev.id}'") == "0"

    async def test_missing_reason(self, stack: Stack, http: httpx.AsyncClient):
        director = await make_user(http, stack, "medical_director")
        dev = await fresh_user(http, stack, "developer")
        body = grant_body(dev)
        del body["reason"]
        resp = await http.post(
            f"{stack.url('identity')}/access-grants", json=body, headers=director.headers
        )
        assert_problem(resp, 422)

    @pytest.mark.parametrize("profile", ["physician", "admin_staff", "worker", "security_officer"])
    async def test_only_developer_or_helpdesk_receive(
        self, stack: Stack, http: httpx.AsyncClient, profile: str
    ):
        director = await make_user(http, stack, "medical_director")
        other = await fresh_user(http, stack, profile)
        resp = await http.post(
            f"{stack.url('identity')}/access-grants",
            json=grant_body(other),
            headers=director.headers,
        )
        assert_problem(resp, 422)

    @pytest.mark.parametrize("profile", ["physician", "security_officer", "developer"])
    async def test_only_the_medical_director_grants(
        self, stack: Stack, http: httpx.AsyncClient, profile: str
    ):
        caller = await fresh_user(http, stack, profile)
        dev = await fresh_user(http, stack, "developer")
        resp = await http.post(
            f"{stack.url('identity')}/access-grants", json=grant_body(dev), headers=caller.headers
        )
        assert_problem(resp, 403)
        assert_problem(
            await http.post(f"{stack.url('identity')}/access-grants", json=grant_body(dev)), 401
        )


class TestRevokeAndExpire:
    async def test_revocation(self, stack: Stack, http: httpx.AsyncClient):
        director = await make_user(http, stack, "medical_director")
        dev = await fresh_user(http, stack, "developer")
        base = f"{stack.url('identity')}/access-grants"
        grant = (await http.post(base, json=grant_body(dev), headers=director.headers)).json()
        await refreshed_claims(http, stack, dev)
        resp = await http.delete(f"{base}/{grant['id']}", headers=director.headers)
        assert resp.status_code == 204
        # A token still carrying the revoked grant no longer passes the session check.
        session = await http.get(f"{stack.url('identity')}/auth/session", headers=dev.headers)
        assert session.status_code == 401
        assert (await refreshed_claims(http, stack, dev))["grants"] == []
        assert_problem(await http.delete(f"{base}/{grant['id']}", headers=director.headers), 409)
        assert_problem(
            await http.delete(
                f"{base}/00000000-0000-4000-8000-000000000000", headers=director.headers
            ),
            404,
        )
        assert_problem(await http.delete(f"{base}/{grant['id']}", headers=dev.headers), 403)
        state = (await http.get(f"{base}/{grant['id']}", headers=director.headers)).json()
        assert state["status"] == "revoked"
        (event,) = events(stack, "grant_revoked", about=grant["id"])
        assert event["actor"]["user_id"] == director.id

    async def test_expiry_is_traced(self, stack: Stack, http: httpx.AsyncClient):
        director = await make_user(http, stack, "medical_director")
        dev = await fresh_user(http, stack, "developer")
        base = f"{stack.url('identity')}/access-grants"
        grant = (await http.post(base, json=grant_body(dev), headers=director.headers)).json()
        sql(
            stack,
            "UPDATE access_grant SET created_at = now() - interval '2 hours', "
            f"expires_at = now() - interval '1 second' WHERE id = '{grant['id']}'",
        )

        async def traced() -> list:
            return events(stack, "grant_expired", about=grant["id"])

        await eventually(traced, timeout=15)
        assert (await refreshed_claims(http, stack, dev))["grants"] == []
        state = (await http.get(f"{base}/{grant['id']}", headers=dev.headers)).json()
        assert state["status"] == "expired"
        assert_problem(await http.delete(f"{base}/{grant['id']}", headers=director.headers), 409)


class TestListGrants:
    async def test_grantee_sees_only_their_own(self, stack: Stack, http: httpx.AsyncClient):
        director = await make_user(http, stack, "medical_director")
        dev, desk = (
            await fresh_user(http, stack, "developer"),
            await fresh_user(http, stack, "helpdesk"),
        )
        base = f"{stack.url('identity')}/access-grants"
        for who in (dev, desk):
            assert (
                await http.post(base, json=grant_body(who), headers=director.headers)
            ).status_code == 201
        mine = (await http.get(base, headers=dev.headers)).json()
        assert mine and {g["grantee_id"] for g in mine} == {dev.id}
        everyone = (
            await http.get(base, params={"active": "true"}, headers=director.headers)
        ).json()
        assert {dev.id, desk.id} <= {g["grantee_id"] for g in everyone}
        filtered = (
            await http.get(base, params={"grantee_id": desk.id}, headers=director.headers)
        ).json()
        assert {g["grantee_id"] for g in filtered} == {desk.id}
        assert_problem(await http.get(base), 401)
        assert_problem(await http.get(base, params={"limit": 0}, headers=director.headers), 422)
