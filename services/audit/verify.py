"""Check audit-log receipts offline: `python -m audit.verify receipt.json --key KEY`.

Needs no database and no network, only the log's published verifier key: the checkpoint's
Ed25519 signature, its origin and tree size, then the inclusion of the leaf in the signed root.
Exit status: 0 every receipt verified, 1 a receipt does not (or is pending), 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from audit.core.note import NoteError, Verifier, parse_verifier
from audit.core.receipt import Receipt, check_receipt

OK, FAILED, USAGE = 0, 1, 2


class UsageError(Exception):
    """The command line cannot be acted on (exit 2)."""


@dataclass(frozen=True)
class Outcome:
    """One receipt checked: a line to print and whether it verified."""

    ok: bool
    line: str


def load_key(value: str) -> Verifier:
    """The verifier of a key string, or of the first line of a file holding one."""
    path = Path(value)
    if path.is_file():
        try:
            lines = path.read_text(encoding="utf-8").split()
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read the key file {value}: {exc}") from exc
        value = lines[0] if lines else ""
    elif "+" not in value:
        raise UsageError(f"--key {value!r} is neither a verifier key nor a readable file")
    try:
        return parse_verifier(value)
    except NoteError as exc:
        raise UsageError(f"--key: {exc}") from exc


def read_document(source: str, stdin: TextIO) -> str:
    """The receipt's text from a file, or from standard input for '-'."""
    if source == "-":
        return stdin.read()
    try:
        return Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {source}: {exc}") from exc


def entries_of(document: Any) -> list[Any]:
    """A receipt, a history entry holding one, a list of either, or a history page's items."""
    if isinstance(document, dict) and isinstance(document.get("items"), list):
        return list(document["items"])
    if isinstance(document, list):
        return document
    return [document]


def check_entry(entry: Any, verifier: Verifier) -> Outcome:
    """Check one receipt or history entry against the pinned key."""
    if not isinstance(entry, dict):
        return Outcome(False, "not a receipt: expected a JSON object")
    expected_event = None
    data = entry
    if "receipt" in entry:
        expected_event = entry.get("event_id")
        data = entry["receipt"]
        if data is None:
            label = f"event {expected_event}" if expected_event else "entry"
            if entry.get("pending"):
                return Outcome(False, f"{label}: pending, not yet in a signed tree; try later")
            return Outcome(False, f"{label}: carries no receipt")
    try:
        receipt = Receipt.from_json(data)
    except NoteError as exc:
        return Outcome(False, str(exc))
    result = check_receipt(receipt, verifier)
    where = f"event {result.event_id}  leaf {result.leaf_index}  tree size {result.tree_size}"
    if not result.ok:
        return Outcome(False, f"{where}  NOT VERIFIED: {result.problem}")
    if expected_event is not None and str(expected_event) != result.event_id:
        return Outcome(False, f"{where}  NOT VERIFIED: the entry names event {expected_event}")
    return Outcome(True, f"{where}  verified")


def run(argv: Sequence[str] | None = None, stdin: TextIO = sys.stdin) -> int:
    """The command; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m audit.verify",
        description=(
            "Check audit-log receipts with nothing but the log's verifier key (no database, no "
            "network). RECEIPT is a file holding a receipt, a history entry with a 'receipt', a "
            "list of those or a history page ({'items': [...]}); '-' reads standard input."
        ),
        epilog=(
            "The key is what audit publishes at GET /log/key as 'verifier_key' "
            "(<name>+<hash>+<base64 key>); obtain it from a source you trust, not from the "
            "server whose receipts you check. Exit 0: verified; 1: not verified or pending; "
            "2: usage error."
        ),
    )
    parser.add_argument("receipt", metavar="RECEIPT", help="receipt JSON file, or - for stdin")
    parser.add_argument(
        "--key", required=True, metavar="KEY", help="verifier key string, or a file holding it"
    )
    args = parser.parse_args(argv)
    try:
        verifier = load_key(args.key)
        text = read_document(args.receipt, stdin)
    except UsageError as exc:
        print(f"audit.verify: {exc}", file=sys.stderr)
        return USAGE
    try:
        document = json.loads(text)
    except ValueError as exc:
        print(f"not verified: {args.receipt} is not JSON ({exc})", file=sys.stderr)
        return FAILED
    outcomes = [check_entry(e, verifier) for e in entries_of(document)]
    if not outcomes:
        print("not verified: no receipt in the document", file=sys.stderr)
        return FAILED
    for outcome in outcomes:
        print(outcome.line, file=sys.stdout if outcome.ok else sys.stderr)
    return OK if all(o.ok for o in outcomes) else FAILED


if __name__ == "__main__":
    sys.exit(run())
