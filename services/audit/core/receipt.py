"""Receipts: one log entry, its inclusion proof and the signed checkpoint it is proved against."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from audit.core.merkle import leaf_hash, verify_inclusion
from audit.core.note import NoteError, Verifier, verified_checkpoint


@dataclass(frozen=True)
class Receipt:
    """What a history entry carries so that anyone holding the log's key can check it."""

    log: str
    leaf_index: int
    leaf: bytes
    tree_size: int
    inclusion_proof: tuple[bytes, ...]
    checkpoint: str

    def as_json(self) -> dict[str, Any]:
        """The receipt as published (hashes and the leaf in base64)."""
        return {
            "log": self.log,
            "leaf_index": self.leaf_index,
            "leaf": base64.b64encode(self.leaf).decode(),
            "tree_size": self.tree_size,
            "inclusion_proof": [base64.b64encode(h).decode() for h in self.inclusion_proof],
            "checkpoint": self.checkpoint,
        }

    @classmethod
    def from_json(cls, data: Any) -> Receipt:
        """A receipt from its published form; NoteError when a field is missing or malformed."""
        try:
            return cls(
                log=str(data["log"]),
                leaf_index=_int(data["leaf_index"]),
                leaf=base64.b64decode(data["leaf"], validate=True),
                tree_size=_int(data["tree_size"]),
                inclusion_proof=tuple(
                    base64.b64decode(h, validate=True) for h in data["inclusion_proof"]
                ),
                checkpoint=str(data["checkpoint"]),
            )
        except (KeyError, TypeError, binascii.Error, ValueError) as exc:
            raise NoteError(f"not a receipt: {exc}") from exc


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{value!r} is not a non-negative integer")
    return value


@dataclass(frozen=True)
class ReceiptCheck:
    """The outcome of checking a receipt: the entry it proves, or why it does not."""

    ok: bool
    problem: str | None
    event_id: str | None
    leaf_index: int
    tree_size: int


def check_receipt(receipt: Receipt, verifier: Verifier) -> ReceiptCheck:
    """Signature of the checkpoint, its origin and size, then the inclusion of the leaf."""

    def fail(problem: str, event_id: str | None = None) -> ReceiptCheck:
        return ReceiptCheck(False, problem, event_id, receipt.leaf_index, receipt.tree_size)

    event_id = None
    try:
        event_id = str(json.loads(receipt.leaf.decode())["event_id"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return fail("the leaf is not an envelope holding an event_id")
    try:
        body = verified_checkpoint(receipt.checkpoint, verifier)
    except NoteError as exc:
        return fail(f"checkpoint: {exc}", event_id)
    if body.origin != receipt.log:
        return fail(f"the checkpoint is of log {body.origin!r}, not {receipt.log!r}", event_id)
    if body.size != receipt.tree_size:
        return fail("the checkpoint's tree size differs from the receipt's", event_id)
    if not verify_inclusion(
        leaf_hash(receipt.leaf),
        receipt.leaf_index,
        receipt.tree_size,
        receipt.inclusion_proof,
        body.root,
    ):
        return fail("the inclusion proof does not lead to the signed root", event_id)
    return ReceiptCheck(True, None, event_id, receipt.leaf_index, receipt.tree_size)
