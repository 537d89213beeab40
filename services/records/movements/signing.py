"""The service's Ed25519 key: made at first start, kept in the records database, never in git."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from fastapi import FastAPI
from sqlalchemy import select, text
from sqlmodel import col

from records.movements.models import SigningKey

ALG = "Ed25519"


@dataclass(frozen=True)
class BundleKey:
    """The private key bundles are signed with, and how receivers name and check it."""

    kid: str
    private: Ed25519PrivateKey
    public_key: str

    def sign(self, document: dict[str, Any]) -> str:
        """Base64 signature of the canonical form of a document."""
        return base64.b64encode(self.private.sign(canonical(document))).decode()


def canonical(document: dict[str, Any]) -> bytes:
    """The bytes that are signed: sorted keys, no spaces, UTF-8."""
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode()


def public_b64(key: Ed25519PublicKey) -> str:
    """Raw public key, base64."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def kid_of(public_key: str) -> str:
    """A key id derived from the public key (stable, collision-free in practice)."""
    return "rec-" + hashlib.sha256(public_key.encode()).hexdigest()[:16]


def verify(public_key: str, signature: str, document: dict[str, Any]) -> bool:
    """True when signature is the key's signature of the document."""
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key, validate=True))
        key.verify(base64.b64decode(signature, validate=True), canonical(document))
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


@asynccontextmanager
async def signing_key_hook(app: FastAPI) -> AsyncIterator[None]:
    """Load the signing key, creating it on the very first start (one process wins the race)."""
    async with app.state.sessionmaker() as session:
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('records-signing-key'))"))
        row = (
            await session.execute(select(SigningKey).order_by(col(SigningKey.created_at)).limit(1))
        ).scalar_one_or_none()
        if row is None:
            private = Ed25519PrivateKey.generate()
            public = public_b64(private.public_key())
            pem = private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode()
            row = SigningKey(kid=kid_of(public), private_pem=pem, public_key=public)
            session.add(row)
        await session.commit()
    private_key = serialization.load_pem_private_key(row.private_pem.encode(), password=None)
    assert isinstance(private_key, Ed25519PrivateKey)
    app.state.bundle_key = BundleKey(row.kid, private_key, row.public_key)
    yield
