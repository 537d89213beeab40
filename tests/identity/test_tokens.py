"""Access tokens verify with a third-party library (PyJWT) against the JWKS; key rotation."""

from __future__ import annotations

import base64
import json

import httpx
import jwt
import pytest

from common.devstack import Stack
from tests.helpers import INITIAL_PASSWORD, first_login, make_user
from tests.identity.support import assert_problem, events, fresh_user, officer

pytestmark = pytest.mark.asyncio


async def jwks(http: httpx.AsyncClient, stack: Stack) -> dict[str, jwt.PyJWK]:
    """The published keys by kid, parsed by PyJWT."""
    doc = (await http.get(f"{stack.url('identity')}/.well-known/jwks.json")).json()
    return {k["kid"]: jwt.PyJWK(k) for k in doc["keys"]}


async def verify(http: httpx.AsyncClient, stack: Stack, token: str) -> dict:
    """Verify the token with PyJWT exactly as a third party would."""
    kid = jwt.get_unverified_header(token)["kid"]
    key = (await jwks(http, stack))[kid]
    return jwt.decode(
        token,
        key=key,
        algorithms=["RS256"],
        audience="ohs",
        issuer="ohs-identity",
        options={"require": ["exp", "iat", "sub", "jti", "iss", "aud"]},
    )


class TestThirdPartyVerification:
    async def test_claims(self, stack: Stack, http: httpx.AsyncClient):
        user = await fresh_user(http, stack, "assistant")
        header = jwt.get_unverified_header(user.token)
        assert header["alg"] == "RS256" and header["kid"]
        claims = await verify(http, stack, user.token)
        assert claims["sub"] == user.id
        assert claims["preferred_username"] == user.username
        assert claims["name"] == user.display_name
        assert claims["profile"] == "assistant"
        assert claims["sid"] and claims["jti"]
        assert 0 < claims["exp"] - claims["iat"] <= 300
        assert claims["worker_id"] is None
        assert claims["guardian_of"] == []
        assert claims["grants"] == []

    async def test_worker_and_guardian_claims(self, stack: Stack, http: httpx.AsyncClient):
        worker = await make_user(http, stack, "worker", worker_id="worker-file-1")
        assert (await verify(http, stack, worker.token))["worker_id"] == "worker-file-1"
        so = await officer(http, stack)
        resp = await http.post(
            f"{stack.url('identity')}/users",
            json={
                "username": "guardian-of-two",
                "display_name": "A Guardian",
                "profile": "worker",
                "password": INITIAL_PASSWORD,
                "guardian_of": ["minor-1", "minor-2"],
                "ward_birth_dates": {"minor-1": "2014-05-01", "minor-2": "2016-07-09"},
            },
            headers=so.headers,
        )
        assert resp.status_code == 201, resp.text
        tokens = await first_login(http, stack, "guardian-of-two")
        access = tokens["access_token"]
        assert (await verify(http, stack, access))["guardian_of"] == ["minor-1", "minor-2"]
        guardian_id = resp.json()["id"]
        resp = await http.patch(
            f"{stack.url('identity')}/users/{guardian_id}",
            json={"guardian_of": ["minor-1"], "ward_birth_dates": {"minor-1": "2014-05-01"}},
            headers=so.headers,
        )
        assert resp.status_code == 200, resp.text
        assert resp.json()["guardian_of"] == ["minor-1"]
        # A token still naming the unlinked minor is refused by the session check.
        session = await http.get(
            f"{stack.url('identity')}/auth/session", headers={"Authorization": f"Bearer {access}"}
        )
        assert session.status_code == 401
        assert events(stack, "guardian_links_changed", about=guardian_id)
        staff = await fresh_user(http, stack)
        resp = await http.patch(
            f"{stack.url('identity')}/users/{staff.id}",
            json={"guardian_of": ["minor-1"], "ward_birth_dates": {"minor-1": "2014-05-01"}},
            headers=so.headers,
        )
        assert_problem(resp, 422)

    async def test_tampered_token_fails_everywhere(self, stack: Stack, http: httpx.AsyncClient):
        user = await fresh_user(http, stack)
        head, payload, sig = user.token.split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "==="))
        claims["profile"] = "medical_director"
        forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        forged = f"{head}.{forged_payload}.{sig}"
        with pytest.raises(jwt.InvalidSignatureError):
            await verify(http, stack, forged)
        resp = await http.get(
            f"{stack.url('identity')}/users/me", headers={"Authorization": f"Bearer {forged}"}
        )
        assert_problem(resp, 401)

    async def test_unsigned_token_refused(self, stack: Stack, http: httpx.AsyncClient):
        user = await fresh_user(http, stack)
        claims = jwt.decode(user.token, options={"verify_signature": False})
        unsigned = jwt.encode(claims, key=None, algorithm="none")
        resp = await http.get(
            f"{stack.url('identity')}/users/me", headers={"Authorization": f"Bearer {unsigned}"}
        )
        assert_problem(resp, 401)


class TestKeyRotation:
    async def test_old_tokens_stay_valid_and_new_ones_use_the_new_key(
        self, stack: Stack, http: httpx.AsyncClient
    ):
        user = await fresh_user(http, stack)
        old_kid = jwt.get_unverified_header(user.token)["kid"]
        so = await officer(http, stack)
        resp = await http.post(f"{stack.url('identity')}/keys/rotate", headers=so.headers)
        assert resp.status_code == 200, resp.text
        new_kid = resp.json()["kid"]
        assert new_kid != old_kid
        published = await jwks(http, stack)
        assert {old_kid, new_kid} <= published.keys()
        await verify(http, stack, user.token)
        me = await http.get(f"{stack.url('identity')}/users/me", headers=user.headers)
        assert me.status_code == 200
        fresh = await fresh_user(http, stack)
        assert jwt.get_unverified_header(fresh.token)["kid"] == new_kid
        await verify(http, stack, fresh.token)
        assert events(stack, "key_rotated", about=new_kid)

    async def test_only_the_security_officer_rotates(self, stack: Stack, http: httpx.AsyncClient):
        user = await fresh_user(http, stack, "developer")
        assert_problem(
            await http.post(f"{stack.url('identity')}/keys/rotate", headers=user.headers), 403
        )
        assert_problem(await http.post(f"{stack.url('identity')}/keys/rotate"), 401)
