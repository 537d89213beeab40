"""A small service built with the shared app factory, for testing the library end to end."""

from __future__ import annotations

import base64
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import APIRouter, FastAPI
from jose import jwt
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text

from common.app import create_app
from common.db import SessionDep
from common.settings import ServiceSettings
from common.tokens import CurrentUser, RequireRight, TokenVerifier

AUDIENCE, ISSUER = "ohs", "ohs-identity"


def _b64(n: int) -> str:
    return (
        base64.urlsafe_b64encode(n.to_bytes((n.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()
    )


@dataclass
class SigningKey:
    """An RSA key pair with a kid."""

    kid: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )

    @property
    def pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def jwk(self) -> dict[str, str]:
        numbers = self.key.public_key().public_numbers()
        return {"kty": "RSA", "kid": self.kid, "use": "sig", "alg": "RS256",
                "n": _b64(numbers.n), "e": _b64(numbers.e)}  # fmt: skip

    def sign(self, **overrides: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "sub": "u-1", "preferred_username": "doc", "name": "Dr Test", "profile": "physician",
            "sid": "s-1", "jti": uuid.uuid4().hex, "iat": now, "exp": now + 300,
            "aud": AUDIENCE, "iss": ISSUER, "worker_id": None, "guardian_of": [], "grants": [],
        }  # fmt: skip
        claims.update(overrides)
        return jwt.encode(claims, self.pem.decode(), algorithm="RS256", headers={"kid": self.kid})


@dataclass
class KeyServer:
    """Serves a JWKS over real HTTP semantics (ASGI), counting fetches."""

    keys: list[SigningKey] = field(default_factory=list)
    fetches: int = 0

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/.well-known/jwks.json")
        async def jwks() -> dict[str, Any]:
            self.fetches += 1
            return {"keys": [k.jwk() for k in self.keys]}

        return app


class Strict(BaseModel):
    """A body that forbids unknown fields."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=50)
    count: int = Field(ge=0, le=1000)


def build(settings: ServiceSettings, server: KeyServer) -> FastAPI:
    """A service with protected, validated and failing endpoints."""
    router = APIRouter()

    @router.get("/whoami")
    async def whoami(user: CurrentUser) -> dict[str, str]:
        return {"user_id": user.user_id, "profile": user.profile.value}

    @router.get("/notes-only")
    async def notes(auth: RequireRight("personal_notes")) -> dict[str, str]:  # type: ignore[valid-type]
        return {"scope": auth.scope.value}

    @router.post("/things", status_code=201)
    async def things(body: Strict) -> Strict:
        return body

    @router.post("/echo-db", status_code=201)
    async def echo_db(body: Strict, session: SessionDep) -> dict[str, str]:
        row = await session.execute(text("SELECT CAST(:v AS text)"), {"v": body.name})
        return {"stored": row.scalar_one()}

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals /etc/passwd")

    def verifier(app: FastAPI) -> TokenVerifier:
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=server.app()), base_url="http://keys"
        )
        return TokenVerifier(jwks_url="http://keys/.well-known/jwks.json", audience=AUDIENCE,
                             issuer=ISSUER, http=http, cache_seconds=300)  # fmt: skip

    return create_app(
        settings, title="Library test service", description="test", routers=[router],
        verifier_factory=verifier,
    )  # fmt: skip
