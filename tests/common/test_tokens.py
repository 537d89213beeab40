"""Tokens are verified on every request: signature, algorithm, key, expiry, audience, issuer."""

from __future__ import annotations

import base64
import json
import time

import httpx
import pytest
from jose import jwt

from tests.common.apps import KeyServer, SigningKey

pytestmark = pytest.mark.asyncio


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_401(resp: httpx.Response) -> None:
    assert resp.status_code == 401, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["status"] == 401


class TestValidToken:
    async def test_accepted(self, client: httpx.AsyncClient, keys: KeyServer):
        resp = await client.get("/whoami", headers=bearer(keys.keys[0].sign()))
        assert resp.status_code == 200
        assert resp.json() == {"user_id": "u-1", "profile": "physician"}

    async def test_jwks_is_cached(self, client: httpx.AsyncClient, keys: KeyServer):
        for _ in range(5):
            await client.get("/whoami", headers=bearer(keys.keys[0].sign()))
        assert keys.fetches == 1


class TestRejectedTokens:
    async def test_missing(self, client: httpx.AsyncClient):
        assert_401(await client.get("/whoami"))

    async def test_not_bearer(self, client: httpx.AsyncClient):
        assert_401(await client.get("/whoami", headers={"Authorization": "Basic YTpi"}))

    async def test_signed_by_a_key_not_in_the_jwks(self, client: httpx.AsyncClient):
        assert_401(await client.get("/whoami", headers=bearer(SigningKey().sign())))

    async def test_known_kid_but_other_key(self, client: httpx.AsyncClient, keys: KeyServer):
        forged = SigningKey(kid=keys.keys[0].kid)
        assert_401(await client.get("/whoami", headers=bearer(forged.sign())))

    async def test_expired(self, client: httpx.AsyncClient, keys: KeyServer):
        old = int(time.time()) - 600
        token = keys.keys[0].sign(iat=old, exp=old + 300)
        assert_401(await client.get("/whoami", headers=bearer(token)))

    async def test_alg_none(self, client: httpx.AsyncClient, keys: KeyServer):
        def part(obj: dict) -> str:
            return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

        header = {"alg": "none", "typ": "JWT", "kid": keys.keys[0].kid}
        claims = jwt.get_unverified_claims(keys.keys[0].sign())
        token = f"{part(header)}.{part(claims)}."
        assert_401(await client.get("/whoami", headers=bearer(token)))

    async def test_hs256_with_the_public_key_as_secret(
        self, client: httpx.AsyncClient, keys: KeyServer
    ):
        claims = jwt.get_unverified_claims(keys.keys[0].sign())
        token = jwt.encode(claims, json.dumps(keys.keys[0].jwk()), algorithm="HS256",
                           headers={"kid": keys.keys[0].kid})  # fmt: skip
        assert_401(await client.get("/whoami", headers=bearer(token)))

    @pytest.mark.parametrize(
        "garbage", ["garbage", "a.b.c", "eyJhbGciOiJSUzI1NiJ9..", "....", "%C3%A9.x.y", "x" * 5000]
    )
    async def test_garbage(self, client: httpx.AsyncClient, garbage: str):
        assert_401(await client.get("/whoami", headers=bearer(garbage)))

    async def test_wrong_audience(self, client: httpx.AsyncClient, keys: KeyServer):
        assert_401(await client.get("/whoami", headers=bearer(keys.keys[0].sign(aud="other"))))

    async def test_wrong_issuer(self, client: httpx.AsyncClient, keys: KeyServer):
        assert_401(await client.get("/whoami", headers=bearer(keys.keys[0].sign(iss="evil"))))

    async def test_missing_claims(self, client: httpx.AsyncClient, keys: KeyServer):
        token = keys.keys[0].sign(profile=None, sid=None)
        assert_401(await client.get("/whoami", headers=bearer(token)))

    async def test_unknown_profile(self, client: httpx.AsyncClient, keys: KeyServer):
        assert_401(await client.get("/whoami", headers=bearer(keys.keys[0].sign(profile="god"))))


class TestKeyRotation:
    async def test_new_kid_triggers_one_refetch(self, client: httpx.AsyncClient, keys: KeyServer):
        assert (await client.get("/whoami", headers=bearer(keys.keys[0].sign()))).status_code == 200
        rotated = SigningKey()
        keys.keys.append(rotated)
        resp = await client.get("/whoami", headers=bearer(rotated.sign()))
        assert resp.status_code == 200
        assert keys.fetches == 2

    async def test_unknown_kids_do_not_hammer_identity(
        self, client: httpx.AsyncClient, keys: KeyServer
    ):
        # Keys and tokens are made first: on a loaded machine making ten RSA keys outlasts the
        # refetch interval, and the test is about the requests, not the key generation.
        tokens = [SigningKey().sign() for _ in range(10)]
        for token in tokens:
            assert_401(await client.get("/whoami", headers=bearer(token)))
        assert keys.fetches <= 2


class TestRights:
    async def test_profile_without_the_right_gets_403(
        self, client: httpx.AsyncClient, keys: KeyServer
    ):
        token = keys.keys[0].sign(profile="assistant")
        resp = await client.get("/notes-only", headers=bearer(token))
        assert resp.status_code == 403
        assert resp.headers["content-type"] == "application/problem+json"

    async def test_scope_is_reported(self, client: httpx.AsyncClient, keys: KeyServer):
        resp = await client.get("/notes-only", headers=bearer(keys.keys[0].sign()))
        assert resp.json() == {"scope": "own"}


class TestPasswordChangeClaim:
    async def test_pending_password_change_is_refused_with_403(
        self, client: httpx.AsyncClient, keys: KeyServer
    ):
        resp = await client.get("/whoami", headers=bearer(keys.keys[0].sign(pwd_change=True)))
        assert resp.status_code == 403, resp.text
        assert resp.headers["content-type"] == "application/problem+json"
        assert resp.json()["type"].endswith("/password-change-required")
        resp = await client.get("/notes-only", headers=bearer(keys.keys[0].sign(pwd_change=True)))
        assert resp.status_code == 403
        assert resp.json()["type"].endswith("/password-change-required")

    async def test_false_or_absent_claim_is_a_full_token(
        self, client: httpx.AsyncClient, keys: KeyServer
    ):
        resp = await client.get("/whoami", headers=bearer(keys.keys[0].sign(pwd_change=False)))
        assert resp.status_code == 200, resp.text
