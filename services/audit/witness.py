"""Witness an audit log: `python -m audit.witness URL [--state FILE] [--key KEY] [--interval S]`.

Keeps the last checkpoint it verified in a state file, fetches the log's current one, checks its
Ed25519 signature with the pinned key and the consistency proof from the old tree to the new
one, then saves it. A log that forks (a proof that does not verify), rolls back (a smaller
tree, or the same size with another root), signs badly or changes its key is an alarm: exit 1,
a message naming it and both checkpoints, and the state file is left as it was.
Exit status: 0 consistent, 1 alarm, 2 usage error, 3 the log could not be checked (network,
an answer that does not parse).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from audit.core.merkle import verify_consistency
from audit.core.note import CheckpointBody, NoteError, Verifier, parse_verifier, verified_checkpoint

OK, ALARM, USAGE, UNCHECKED = 0, 1, 2, 3
FORK, ROLLBACK, BAD_SIGNATURE, KEY_CHANGED = "FORK", "ROLLBACK", "BAD SIGNATURE", "KEY CHANGED"
DEFAULT_STATE = "audit-witness.json"


class Unchecked(Exception):
    """The log could not be asked or did not answer in the published shapes."""


@dataclass(frozen=True)
class Outcome:
    """What one witnessing found: `alarm` is None when the log is consistent."""

    alarm: str | None
    message: str
    size: int | None = None
    old_note: str | None = None
    new_note: str | None = None
    pinned: str | None = None

    @property
    def ok(self) -> bool:
        """Consistent with everything seen before."""
        return self.alarm is None

    def report(self) -> str:
        """The message, with both checkpoints when there is an alarm."""
        if self.ok:
            return self.message
        parts = [f"ALARM {self.alarm}: {self.message}"]
        if self.old_note is not None:
            parts.append("last verified checkpoint:\n" + _indent(self.old_note))
        if self.new_note is not None:
            parts.append("checkpoint now served:\n" + _indent(self.new_note))
        return "\n".join(parts)


def _indent(note: str) -> str:
    return "".join(f"    {line}\n" for line in note.splitlines()).rstrip("\n")


def load_state(path: Path) -> dict[str, Any] | None:
    """The last verified checkpoint, None before the first run."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise Unchecked(f"cannot read the state file {path}: {exc}") from exc
    try:
        state = json.loads(text)
        if not isinstance(state, dict) or not isinstance(state.get("verifier_key"), str):
            raise ValueError("no verifier_key")
        parse_verifier(state["verifier_key"])
        size = state.get("size")
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError("no tree size")
        if not isinstance(state.get("origin"), str) or not isinstance(state.get("note"), str):
            raise ValueError("no origin or note")
        if len(base64.b64decode(str(state.get("root")), validate=True)) != 32:
            raise ValueError("the root is not 32 bytes")
        return state
    except (ValueError, binascii.Error) as exc:
        raise Unchecked(f"the state file {path} is damaged ({exc}); not overwriting it") from exc


def save_state(path: Path, body: CheckpointBody, note: str, key: str) -> None:
    """Write the new state atomically (a crash never leaves half a file)."""
    state = {
        "origin": body.origin,
        "size": body.size,
        "root": base64.b64encode(body.root).decode(),
        "note": note,
        "verifier_key": key,
        "checked_at": datetime.now(UTC).isoformat(),
    }
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


async def _get(client: httpx.AsyncClient, url: str, **params: int) -> httpx.Response:
    try:
        resp = await client.get(url, params=params or None)
    except httpx.HTTPError as exc:
        raise Unchecked(f"cannot reach {url}: {exc}") from exc
    if resp.status_code != 200:
        raise Unchecked(f"{url} answered {resp.status_code}: {resp.text[:200]}")
    return resp


async def served_key(client: httpx.AsyncClient, base: str) -> str:
    """The verifier key string the log publishes at /log/key."""
    resp = await _get(client, base + "/log/key")
    try:
        key = resp.json()["verifier_key"]
        parse_verifier(key)
    except (ValueError, KeyError, TypeError) as exc:
        raise Unchecked(f"{base}/log/key is not a verifier key: {exc}") from exc
    return str(key)


async def witness(
    url: str,
    state_path: Path | str,
    key: str | None = None,
    client: httpx.AsyncClient | None = None,
) -> Outcome:
    """Witness the log at `url` once against the state file; raises Unchecked when it cannot."""
    base = url.rstrip("/")
    state_path = Path(state_path)
    if client is None:
        async with httpx.AsyncClient(timeout=10) as own:
            return await witness(url, state_path, key, own)
    state = load_state(state_path)
    old_note = state.get("note") if state else None
    pinned = None
    if key is not None:
        try:
            key = parse_verifier(key).string()
        except NoteError as exc:
            raise ValueError(f"--key: {exc}") from exc
    if state is not None:
        if key is not None and key != state["verifier_key"]:
            return Outcome(
                KEY_CHANGED,
                f"--key {key} is not the key pinned in {state_path} ({state['verifier_key']}); "
                "remove the state file only if the log's operator announced a new key",
                old_note=old_note,
            )
        key = str(state["verifier_key"])
    elif key is None:
        key = pinned = await served_key(client, base)
    verifier: Verifier = parse_verifier(key)

    note = (await _get(client, base + "/log/checkpoint")).text
    try:
        body = verified_checkpoint(note, verifier)
    except NoteError as exc:
        alarm, why = BAD_SIGNATURE, str(exc)
        try:
            now = await served_key(client, base)
        except Unchecked:
            now = key
        if now != key:
            alarm, why = KEY_CHANGED, f"the log now publishes {now}, pinned is {key}; {exc}"
        return Outcome(alarm, why, old_note=old_note, new_note=note)

    if state is None:
        save_state(state_path, body, note, key)
        return Outcome(
            None,
            f"first checkpoint of {body.origin}: size {body.size}",
            body.size,
            None,
            note,
            pinned,
        )

    old = CheckpointBody(str(state["origin"]), int(state["size"]), base64.b64decode(state["root"]))
    if body.origin != old.origin:
        return Outcome(
            FORK, f"the origin changed from {old.origin!r} to {body.origin!r}", None, old_note, note
        )
    if body.size < old.size:
        return Outcome(
            ROLLBACK,
            f"the tree shrank from {old.size} to {body.size} leaves",
            None,
            old_note,
            note,
        )
    if body.size == old.size:
        if body.root != old.root:
            return Outcome(
                ROLLBACK,
                f"the tree of size {old.size} now has another root",
                None,
                old_note,
                note,
            )
        save_state(state_path, body, note, key)
        return Outcome(None, f"unchanged: size {body.size}", body.size, old_note, note)

    if old.size == 0:
        # Every tree extends the empty one: there is nothing to prove.
        save_state(state_path, body, note, key)
        return Outcome(None, f"consistent: size 0 -> {body.size}", body.size, old_note, note)
    resp = await _get(client, base + "/log/consistency", first=old.size, second=body.size)
    try:
        data = resp.json()
        proof = [base64.b64decode(h, validate=True) for h in data["proof"]]
        answered = (data["first"], data["second"])
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise Unchecked(f"the consistency proof does not parse: {exc}") from exc
    if answered != (old.size, body.size) or not verify_consistency(
        old.size, body.size, old.root, body.root, proof
    ):
        return Outcome(
            FORK,
            f"the tree of size {body.size} does not extend the verified tree of size {old.size} "
            "(the consistency proof does not verify): the log was rewritten",
            None,
            old_note,
            note,
        )
    save_state(state_path, body, note, key)
    return Outcome(None, f"consistent: size {old.size} -> {body.size}", body.size, old_note, note)


async def _main(args: argparse.Namespace) -> int:
    state = Path(args.state)
    while True:
        try:
            outcome = await witness(args.url, state, args.key)
        except Unchecked as exc:
            print(f"audit.witness: could not check {args.url}: {exc}", file=sys.stderr)
            if not args.interval:
                return UNCHECKED
        else:
            stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            if outcome.pinned:
                print(
                    "WARNING: trust on first use. No --key was given and the state file is new, "
                    "so the key the log serves now is pinned without any check:\n"
                    f"    {outcome.pinned}\n"
                    "Compare it with the key published by the log's operator, or run again with "
                    "--key.",
                    file=sys.stderr,
                )
            if not outcome.ok:
                print(f"{stamp} {outcome.report()}", file=sys.stderr)
                return ALARM
            print(f"{stamp} {outcome.report()}", flush=True)
            if not args.interval:
                return OK
        await asyncio.sleep(args.interval)


def run(argv: Sequence[str] | None = None) -> int:
    """The command; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m audit.witness",
        description=(
            "Watch that an audit log only ever grows. Each run fetches URL/log/checkpoint, checks "
            "its signature with the pinned key, checks URL/log/consistency from the last "
            "verified tree to the new one, and records the new checkpoint in the state file."
        ),
        epilog=(
            "Exit 0: consistent; 1: ALARM (FORK, ROLLBACK, BAD SIGNATURE or KEY CHANGED; the "
            "state file keeps the last good checkpoint); 2: usage error; 3: the log could not "
            "be checked. Without --key, the first run pins the key the log serves (trust on "
            "first use) and says so."
        ),
    )
    parser.add_argument("url", metavar="URL", help="the audit service, e.g. http://127.0.0.1:8004")
    parser.add_argument(
        "--state",
        default=DEFAULT_STATE,
        metavar="FILE",
        help=f"where the last verified checkpoint is kept (default: ./{DEFAULT_STATE})",
    )
    parser.add_argument(
        "--key",
        metavar="VERIFIER_KEY",
        help="the log's verifier key (<name>+<hash>+<base64 key>), as its operator publishes it",
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=0,
        metavar="S",
        help="keep watching, every S seconds, until an alarm (default: check once)",
    )
    args = parser.parse_args(argv)
    if args.key is not None:
        try:
            parse_verifier(args.key)
        except NoteError as exc:
            parser.error(f"--key: {exc}")
    if args.interval < 0:
        parser.error("--interval must be positive")
    try:
        return asyncio.run(_main(args))
    except KeyboardInterrupt:
        return OK


if __name__ == "__main__":
    sys.exit(run())
