"""An in-memory signed Merkle log built with the audit core: receipts, checkpoints, proofs."""

from __future__ import annotations

import json
import uuid
from functools import cache

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.core.merkle import (
    CompactRange,
    consistency_ranges,
    inclusion_ranges,
    leaf_hash,
    range_hash,
)
from audit.core.note import CheckpointBody, Verifier, raw_public_key, sign_note
from audit.core.receipt import Receipt

ORIGIN = "ohs.test/audit"


def envelope(n: int) -> bytes:
    """Canonical bytes of a small envelope, as a leaf."""
    event = {"event_id": str(uuid.UUID(int=n + 1)), "action": "read", "n": n}
    return json.dumps(event, sort_keys=True, separators=(",", ":")).encode()


class MemoryLog:
    """A log whose tree is recomputed from its leaves (fine for the few hundred of a test)."""

    def __init__(self, origin: str = ORIGIN, private: Ed25519PrivateKey | None = None) -> None:
        self.origin = origin
        self.private = private or Ed25519PrivateKey.generate()
        self.verifier = Verifier(origin, raw_public_key(self.private))
        self.leaves: list[bytes] = []
        self.hashes: list[bytes] = []

    @property
    def key(self) -> str:
        """The verifier key string."""
        return self.verifier.string()

    @property
    def size(self) -> int:
        """Leaves so far."""
        return len(self.leaves)

    def append(self, leaf: bytes) -> int:
        """Add a leaf; its index."""
        self.leaves.append(leaf)
        self.hashes.append(leaf_hash(leaf))
        return len(self.leaves) - 1

    def grow(self, count: int) -> None:
        """Add `count` envelopes."""
        for _ in range(count):
            self.append(envelope(self.size))

    def _node(self, level: int, index: int) -> bytes:
        return _subtree(tuple(self.hashes[index << level : (index + 1) << level]))

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first `size` leaves."""
        return range_hash(0, self.size if size is None else size, self._node)

    def checkpoint(self, size: int | None = None, root: bytes | None = None) -> str:
        """The signed note of the tree of `size` leaves (or of any root, to forge one)."""
        size = self.size if size is None else size
        body = CheckpointBody(self.origin, size, self.root(size) if root is None else root)
        return sign_note(body.text(), self.origin, self.private)

    def receipt(self, index: int, size: int | None = None) -> Receipt:
        """Leaf `index` proved against the signed tree of `size` leaves."""
        size = self.size if size is None else size
        proof = tuple(range_hash(lo, hi, self._node) for lo, hi in inclusion_ranges(index, size))
        return Receipt(self.origin, index, self.leaves[index], size, proof, self.checkpoint(size))

    def consistency(self, first: int, second: int) -> list[bytes]:
        """PROOF(first, D[second])."""
        return [range_hash(lo, hi, self._node) for lo, hi in consistency_ranges(first, second)]


@cache
def _subtree(hashes: tuple[bytes, ...]) -> bytes:
    tree = CompactRange()
    for h in hashes:
        tree.append(h)
    return tree.root()
