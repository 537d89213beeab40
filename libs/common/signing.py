"""Ed25519 signatures of the envelopes a source publishes (Kafka headers `sig` and `kid`).

A relay signs the exact bytes it publishes as the message value; the audit consumer verifies
them against the public keys it was configured with for the envelope's claimed source. A key
is named by its kid: the first 16 hex digits of the SHA-256 of the raw 32-byte public key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SIG_HEADER = "sig"
KID_HEADER = "kid"
Headers = Sequence[tuple[str, bytes]]


class SigningKeyError(ValueError):
    """A key that cannot be read, or none where one is required."""


def raw_public(key: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of a public key."""
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def kid_of(key: Ed25519PublicKey) -> str:
    """The key id: first 16 hex of SHA-256 of the raw public key."""
    return hashlib.sha256(raw_public(key)).hexdigest()[:16]


def public_b64(key: Ed25519PublicKey) -> str:
    """Base64 of the raw public key (the form audit's configuration takes)."""
    return base64.b64encode(raw_public(key)).decode()


def load_private_key(text: str | bytes) -> Ed25519PrivateKey:
    """An Ed25519 private key from PKCS#8 PEM or from base64 of the raw 32-byte seed."""
    data = text.encode() if isinstance(text, str) else text
    data = data.strip()
    if data.startswith(b"-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise SigningKeyError(f"unreadable PEM private key: {exc}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningKeyError("the PEM key is not an Ed25519 key")
        return key
    try:
        seed = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise SigningKeyError("the key is neither PEM nor base64") from None
    if len(seed) != 32:
        raise SigningKeyError(f"a raw Ed25519 private key has 32 bytes, not {len(seed)}")
    return Ed25519PrivateKey.from_private_bytes(seed)


def load_public_key(text: str) -> Ed25519PublicKey:
    """An Ed25519 public key from base64 of its raw 32 bytes, or from SubjectPublicKeyInfo PEM."""
    data = text.strip().encode()
    if data.startswith(b"-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(data)
        except (ValueError, TypeError) as exc:
            raise SigningKeyError(f"unreadable PEM public key: {exc}") from None
        if not isinstance(key, Ed25519PublicKey):
            raise SigningKeyError("the PEM key is not an Ed25519 key")
        return key
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise SigningKeyError("the public key is neither PEM nor base64") from None
    if len(raw) != 32:
        raise SigningKeyError(f"a raw Ed25519 public key has 32 bytes, not {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def key_from_secret(value: str | None, path: str | None, what: str) -> Ed25519PrivateKey | None:
    """A private key given as a value or as a file (the file wins); None when neither is set."""
    if path:
        try:
            return load_private_key(Path(path).read_bytes())
        except OSError as exc:
            raise SigningKeyError(f"{what}: cannot read {path}: {exc.strerror}") from None
        except SigningKeyError as exc:
            raise SigningKeyError(f"{what} ({path}): {exc}") from None
    if value:
        try:
            return load_private_key(value)
        except SigningKeyError as exc:
            raise SigningKeyError(f"{what}: {exc}") from None
    return None


def write_private_key(path: Path) -> Ed25519PrivateKey:
    """Generate a key into a new PEM file readable by its owner only (development)."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    return key


def ensure_private_key(path: Path) -> Ed25519PrivateKey:
    """The key in the file, generated on first use."""
    if path.exists():
        return load_private_key(path.read_bytes())
    return write_private_key(path)


class EventSigner:
    """The private key of one source; signs the bytes a relay publishes."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self.private = private
        self.public = private.public_key()
        self.kid = kid_of(self.public)

    def sign(self, data: bytes) -> bytes:
        """The raw 64-byte signature."""
        return self.private.sign(data)

    def headers(self, data: bytes) -> list[tuple[str, bytes]]:
        """The Kafka headers that carry the signature of a message value."""
        return [
            (SIG_HEADER, base64.b64encode(self.sign(data))),
            (KID_HEADER, self.kid.encode()),
        ]


def header(headers: Headers | None, name: str) -> bytes | None:
    """The value of a header (the last one when repeated), or None."""
    found = None
    for key, value in headers or ():
        if key == name:
            found = value
    return found


def verify(public: Ed25519PublicKey, data: bytes, signature_b64: bytes) -> bool:
    """Whether a base64 signature of data holds under the key."""
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        public.verify(signature, data)
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True
