"""`python -m audit.verify`: receipts checked offline, in a subprocess, with only the key."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.audit.tlog import MemoryLog


def verify(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the verifier as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "audit.verify", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def log() -> MemoryLog:
    log = MemoryLog()
    log.grow(21)
    return log


def write(tmp_path: Path, data: object, name: str = "receipt.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


class TestAGoodReceipt:
    @pytest.mark.parametrize(("index", "size"), [(0, 1), (5, 21), (20, 21), (15, 16)])
    def test_it_prints_the_event_leaf_and_tree_size(
        self, log: MemoryLog, tmp_path: Path, index: int, size: int
    ) -> None:
        receipt = log.receipt(index, size)
        done = verify(str(write(tmp_path, receipt.as_json())), "--key", log.key)
        assert done.returncode == 0, done.stderr
        event_id = json.loads(receipt.leaf)["event_id"]
        assert done.stdout.strip() == (
            f"event {event_id}  leaf {index}  tree size {size}  verified"
        )

    def test_a_history_entry_from_stdin_with_the_key_in_a_file(
        self, log: MemoryLog, tmp_path: Path
    ) -> None:
        receipt = log.receipt(3)
        entry = {"event_id": json.loads(receipt.leaf)["event_id"], "receipt": receipt.as_json()}
        key_file = write(tmp_path, log.key + "\n", "audit.key")
        done = verify("-", "--key", str(key_file), stdin=json.dumps(entry))
        assert done.returncode == 0, done.stderr
        assert done.stdout.rstrip().endswith("verified")

    def test_a_history_page_checks_every_item(self, log: MemoryLog, tmp_path: Path) -> None:
        items = [{"receipt": log.receipt(i).as_json()} for i in (0, 7, 20)]
        done = verify(str(write(tmp_path, {"items": items})), "--key", log.key)
        assert done.returncode == 0, done.stderr
        assert done.stdout.count("verified") == 3


class TestABadReceipt:
    def test_a_tampered_leaf_is_not_verified(self, log: MemoryLog, tmp_path: Path) -> None:
        data = log.receipt(9).as_json()
        leaf = json.loads(base64.b64decode(data["leaf"]))
        leaf["action"] = "none"
        data["leaf"] = base64.b64encode(json.dumps(leaf).encode()).decode()
        done = verify(str(write(tmp_path, data)), "--key", log.key)
        assert done.returncode == 1
        assert "NOT VERIFIED" in done.stderr and "inclusion proof" in done.stderr
        assert "verified" not in done.stdout

    def test_another_logs_key_is_not_verified(self, log: MemoryLog, tmp_path: Path) -> None:
        stranger = MemoryLog()
        done = verify(str(write(tmp_path, log.receipt(2).as_json())), "--key", stranger.key)
        assert done.returncode == 1
        assert "checkpoint: the note is not signed by" in done.stderr

    def test_an_entry_naming_another_event_is_not_verified(
        self, log: MemoryLog, tmp_path: Path
    ) -> None:
        entry = {"event_id": "someone-else", "receipt": log.receipt(2).as_json()}
        done = verify(str(write(tmp_path, entry)), "--key", log.key)
        assert done.returncode == 1 and "entry names event someone-else" in done.stderr

    def test_a_pending_entry_says_so(self, log: MemoryLog, tmp_path: Path) -> None:
        entry = {"event_id": "e-1", "receipt": None, "pending": True}
        done = verify(str(write(tmp_path, entry)), "--key", log.key)
        assert done.returncode == 1 and "pending" in done.stderr

    @pytest.mark.parametrize(
        ("text", "words"),
        [
            ('{"log": "x", "leaf_index": ', "is not JSON"),
            ('{"log": "x"}', "not a receipt"),
            ("[]", "no receipt"),
            ('"just a string"', "expected a JSON object"),
        ],
    )
    def test_malformed_input_is_a_readable_error(
        self, log: MemoryLog, tmp_path: Path, text: str, words: str
    ) -> None:
        done = verify(str(write(tmp_path, text)), "--key", log.key)
        assert done.returncode == 1
        assert words in done.stderr and "Traceback" not in done.stderr


class TestUsage:
    def test_help_explains_the_key(self) -> None:
        done = verify("--help")
        assert done.returncode == 0 and "GET /log/key" in done.stdout

    @pytest.mark.parametrize(
        "args",
        [
            [],
            ["receipt.json"],
            ["receipt.json", "--key", "not-a-key-nor-a-file"],
            ["receipt.json", "--key", "ohs.test+00000000+AAAA"],
            ["missing.json", "--key", "KEYFILE"],
        ],
    )
    def test_usage_errors_exit_2(self, log: MemoryLog, tmp_path: Path, args: list[str]) -> None:
        write(tmp_path, log.receipt(0).as_json())
        key_file = write(tmp_path, log.key, "KEYFILE")
        args = [str(tmp_path / a) if a in ("receipt.json", "missing.json") else a for a in args]
        args = [str(key_file) if a == "KEYFILE" else a for a in args]
        done = verify(*args)
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr
