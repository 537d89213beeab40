"""Generate, rotate and publish RS256 signing keys; sign access tokens."""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from datetime import timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwk, jwt
from jose.backends.base import Key
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from common.db import utcnow
from identity.keys.models import SigningKey
from identity.settings import Settings

ALGORITHM = "RS256"
_LOCK = zlib.crc32(b"identity:signing-key")


def _b64(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def public_jwk(public_pem: str, kid: str) -> dict[str, Any]:
    """The public key as a JWK (RFC 7517)."""
    key = serialization.load_pem_public_key(public_pem.encode())
    assert isinstance(key, rsa.RSAPublicKey)
    numbers = key.public_numbers()
    return {
        "kty": "RSA",
        "use": "sig",
        "alg": ALGORITHM,
        "kid": kid,
        "n": _b64(numbers.n),
        "e": _b64(numbers.e),
    }


def generate(bits: int) -> SigningKey:
    """A new key pair; the kid is its RFC 7638 thumbprint."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    numbers = private.public_key().public_numbers()
    thumb_input = json.dumps(
        {"e": _b64(numbers.e), "kty": "RSA", "n": _b64(numbers.n)}, separators=(",", ":")
    )
    kid = base64.urlsafe_b64encode(hashlib.sha256(thumb_input.encode()).digest()).rstrip(b"=")
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return SigningKey(kid=kid.decode(), private_pem=private_pem, public_pem=public_pem)


def publish_window(settings: Settings) -> timedelta:
    """How long a retired key stays in the JWKS: longer than any token it signed."""
    return timedelta(
        seconds=settings.access_token_seconds + settings.password_change_token_seconds + 60
    )


async def current(session: AsyncSession) -> SigningKey | None:
    """The key that signs new tokens (the newest not retired)."""
    result = await session.execute(
        select(SigningKey)
        .where(col(SigningKey.retired_at).is_(None))
        .order_by(col(SigningKey.created_at).desc())
        .limit(1)
    )
    return result.scalar_one_or_none()


async def published(session: AsyncSession, settings: Settings) -> list[SigningKey]:
    """Keys whose tokens may still be alive: the current one and recently retired ones."""
    horizon = utcnow() - publish_window(settings)
    result = await session.execute(
        select(SigningKey)
        .where(col(SigningKey.retired_at).is_(None) | (col(SigningKey.retired_at) > horizon))
        .order_by(col(SigningKey.created_at).desc())
    )
    return list(result.scalars())


async def ensure_key(session: AsyncSession, settings: Settings) -> SigningKey:
    """The current key, generated on first start or when older than its maximum age."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK})
    key = await current(session)
    max_age = timedelta(days=settings.key_max_age_days)
    if key is not None and utcnow() - key.created_at < max_age:
        return key
    return await rotate(session, settings)


async def rotate(session: AsyncSession, settings: Settings) -> SigningKey:
    """Retire every current key and start signing with a new one (old ones stay published)."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK})
    now = utcnow()
    await session.execute(
        update(SigningKey).where(col(SigningKey.retired_at).is_(None)).values(retired_at=now)
    )
    key = generate(settings.key_bits)
    key.created_at = now
    session.add(key)
    await session.flush()
    return key


_PARSED: dict[str, Key] = {}


def sign(key: SigningKey, claims: dict[str, Any]) -> str:
    """An RS256 JWT with the key's kid in the header."""
    parsed = _PARSED.get(key.kid)
    if parsed is None:
        # Parsing a private PEM costs milliseconds; keys are few and immutable.
        parsed = _PARSED[key.kid] = jwk.construct(key.private_pem, ALGORITHM)
    return jwt.encode(claims, parsed, algorithm=ALGORITHM, headers={"kid": key.kid})
