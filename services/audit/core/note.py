"""C2SP tlog-checkpoint bodies and C2SP signed-note signatures with Ed25519.

A checkpoint is the text "<origin>\\n<tree size>\\n<base64 root>\\n", signed as a note: the text,
a blank line, then one line per signature "— <key name> <base64(key hash || signature)>".
The key hash is the first 4 bytes of SHA-256(<key name> || 0x0A || 0x01 || public key).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ED25519 = 0x01
DASH = "\u2014"


class NoteError(ValueError):
    """A note, checkpoint or verifier key that does not parse or does not verify."""


@dataclass(frozen=True)
class CheckpointBody:
    """The signed statement of a tree: who (origin), how many leaves, which root."""

    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        """The checkpoint body as signed (ends in a newline)."""
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"


@dataclass(frozen=True)
class Verifier:
    """The public half of a note signer: its name and Ed25519 key."""

    name: str
    public_key: bytes

    @property
    def key_hash(self) -> bytes:
        """The 4-byte key hash that names this key in signature lines."""
        return key_hash(self.name, self.public_key)

    def string(self) -> str:
        """The verifier key string: <name>+<hex key hash>+<base64(0x01 || key)>."""
        encoded = base64.b64encode(bytes([ED25519]) + self.public_key).decode()
        return f"{self.name}+{self.key_hash.hex()}+{encoded}"

    def verify(self, text: str, signature: bytes) -> bool:
        """Whether an Ed25519 signature over the note text holds."""
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, text.encode())
        except (InvalidSignature, ValueError):
            return False
        return True


def key_hash(name: str, public_key: bytes) -> bytes:
    """First 4 bytes of SHA-256(name || 0x0A || 0x01 || key)."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public_key).digest()[:4]


def valid_name(name: str) -> bool:
    """A key name: non-empty, no spaces or '+' (signed-note)."""
    return bool(name) and not any(c.isspace() or c == "+" for c in name)


def raw_public_key(private: Ed25519PrivateKey) -> bytes:
    """The 32 bytes of an Ed25519 public key."""
    return private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )


def sign_note(text: str, name: str, private: Ed25519PrivateKey) -> str:
    """The signed note: text, blank line, one signature line."""
    if not text.endswith("\n"):
        raise NoteError("a note's text ends with a newline")
    if not valid_name(name):
        raise NoteError(f"{name!r} is not a valid key name")
    signature = private.sign(text.encode())
    blob = base64.b64encode(key_hash(name, raw_public_key(private)) + signature).decode()
    return f"{text}\n{DASH} {name} {blob}\n"


def parse_verifier(value: str) -> Verifier:
    """The Verifier of a key string <name>+<hex key hash>+<base64(0x01 || key)>."""
    parts = value.strip().split("+", 2)
    if len(parts) != 3:
        raise NoteError("a verifier key reads <name>+<key hash>+<base64 key>")
    name, hash_hex, encoded = parts
    try:
        raw = base64.b64decode(encoded, validate=True)
        expected = bytes.fromhex(hash_hex)
    except (binascii.Error, ValueError) as exc:
        raise NoteError(f"the verifier key does not decode: {exc}") from exc
    if len(raw) != 33 or raw[0] != ED25519:
        raise NoteError("only Ed25519 verifier keys (type 0x01, 32 bytes) are accepted")
    verifier = Verifier(name, raw[1:])
    if not valid_name(name) or verifier.key_hash != expected:
        raise NoteError("the verifier key's hash does not match its name and key")
    return verifier


def split_note(note: str) -> tuple[str, list[tuple[str, bytes, bytes]]]:
    """(text, [(key name, key hash, signature)]) of a signed note."""
    cut = note.rfind("\n\n")
    if cut < 0 or not note.endswith("\n"):
        raise NoteError("a signed note is its text, a blank line and signature lines")
    text, lines = note[: cut + 1], note[cut + 2 :].splitlines()
    signatures = []
    for line in lines:
        fields = line.split(" ")
        if len(fields) != 3 or fields[0] != DASH:
            raise NoteError(f"not a signature line: {line!r}")
        try:
            blob = base64.b64decode(fields[2], validate=True)
        except binascii.Error as exc:
            raise NoteError(f"a signature does not decode: {exc}") from exc
        if len(blob) < 5:
            raise NoteError("a signature is shorter than its key hash")
        signatures.append((fields[1], blob[:4], blob[4:]))
    if not signatures:
        raise NoteError("the note carries no signature")
    return text, signatures


def open_note(note: str, verifier: Verifier) -> str:
    """The text of a note signed by `verifier`; NoteError when it is not."""
    text, signatures = split_note(note)
    for name, khash, signature in signatures:
        if name == verifier.name and khash == verifier.key_hash:
            if verifier.verify(text, signature):
                return text
            raise NoteError(f"the signature of {name} does not verify")
    raise NoteError(f"the note is not signed by {verifier.name}")


def parse_checkpoint(text: str) -> CheckpointBody:
    """The origin, size and root of a checkpoint body (extension lines are ignored)."""
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise NoteError("a checkpoint has an origin, a size and a root hash, one per line")
    origin, size, root = lines[0], lines[1], lines[2]
    if not origin or not size.isdigit() or (size != "0" and size.startswith("0")):
        raise NoteError("the checkpoint's origin or tree size is malformed")
    try:
        digest = base64.b64decode(root, validate=True)
    except binascii.Error as exc:
        raise NoteError(f"the checkpoint's root hash does not decode: {exc}") from exc
    if len(digest) != 32:
        raise NoteError("the checkpoint's root hash is not 32 bytes")
    return CheckpointBody(origin, int(size), digest)


def verified_checkpoint(note: str, verifier: Verifier) -> CheckpointBody:
    """The checkpoint of a signed note, after its signature is checked."""
    return parse_checkpoint(open_note(note, verifier))
