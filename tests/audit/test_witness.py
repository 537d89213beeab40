"""The witness against a forged log server: honest growth passes, FORK and ROLLBACK are caught."""

from __future__ import annotations

import asyncio
import base64
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import NamedTuple

import pytest
import uvicorn
from fastapi import FastAPI, Query
from fastapi.responses import JSONResponse, PlainTextResponse

from audit.witness import BAD_SIGNATURE, FORK, KEY_CHANGED, ROLLBACK, Unchecked, witness
from common.devstack import free_port
from tests.audit.tlog import MemoryLog

pytestmark = pytest.mark.asyncio


class LogServer:
    """Serves /log/checkpoint, /log/key and /log/consistency of whatever log it is handed."""

    def __init__(self, log: MemoryLog) -> None:
        self.log = log
        self.signer: MemoryLog | None = None  # signs checkpoints with another key when set
        self.published: MemoryLog | None = None  # publishes another key at /log/key when set
        self.app = FastAPI()
        self.app.get("/log/checkpoint")(self.checkpoint)
        self.app.get("/log/key")(self.key)
        self.app.get("/log/consistency")(self.consistency)

    async def checkpoint(self) -> PlainTextResponse:
        if self.signer is not None:
            self.signer.leaves, self.signer.hashes = self.log.leaves, self.log.hashes
            return PlainTextResponse(self.signer.checkpoint())
        return PlainTextResponse(self.log.checkpoint())

    async def key(self) -> dict[str, str]:
        shown = self.published or self.log
        return {
            "name": shown.origin,
            "public_key": base64.b64encode(shown.verifier.public_key).decode(),
            "verifier_key": shown.key,
        }

    async def consistency(self, first: int = Query(), second: int = Query()) -> JSONResponse:
        if not 0 < first <= second <= self.log.size:
            return JSONResponse(
                {"detail": "out of range"}, 422, media_type="application/problem+json"
            )
        proof = [base64.b64encode(h).decode() for h in self.log.consistency(first, second)]
        return JSONResponse({"first": first, "second": second, "proof": proof})

    def fork(self, at: int) -> None:
        """Rewrite leaf `at` and everything after it, keeping the key: another history."""
        forged = MemoryLog(self.log.origin, self.log.private)
        for i, leaf in enumerate(self.log.leaves):
            forged.append(leaf if i != at else leaf.replace(b'"read"', b'"none"'))
        self.log = forged


@pytest.fixture
async def server() -> AsyncIterator[tuple[LogServer, str]]:
    log = MemoryLog()
    log.grow(10)
    forged = LogServer(log)
    port = free_port()
    config = uvicorn.Config(forged.app, host="127.0.0.1", port=port, log_level="warning")
    uv = uvicorn.Server(config)
    task = asyncio.create_task(uv.serve())
    while not uv.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
        await asyncio.sleep(0.02)
    try:
        yield forged, f"http://127.0.0.1:{port}"
    finally:
        uv.should_exit = True
        await task


class Seen(NamedTuple):
    """A forged log server and a witness state that has verified its checkpoint once."""

    forged: LogServer
    url: str
    state: Path


@pytest.fixture
async def seen(server: tuple[LogServer, str], tmp_path: Path) -> Seen:
    forged, url = server
    state = tmp_path / "witness.json"
    assert (await witness(url, state)).ok
    return Seen(forged, url, state)


class TestAnHonestLog:
    async def test_growth_is_consistent_and_the_state_records_it(
        self, server: tuple[LogServer, str], tmp_path: Path
    ) -> None:
        forged, url = server
        state = tmp_path / "witness.json"
        first = await witness(url, state)
        assert first.ok and first.pinned == forged.log.key and first.size == 10
        for grown in (1, 5, 16, 33):
            forged.log.grow(grown)
            outcome = await witness(url, state)
            assert outcome.ok, outcome.report()
            assert outcome.size == forged.log.size and outcome.pinned is None
        again = await witness(url, state)
        assert again.ok and again.message == f"unchanged: size {forged.log.size}"
        saved = json.loads(state.read_text())
        assert set(saved) == {"origin", "size", "root", "note", "verifier_key", "checked_at"}
        assert saved["size"] == forged.log.size and saved["verifier_key"] == forged.log.key
        assert saved["root"] == base64.b64encode(forged.log.root()).decode()

    async def test_a_given_key_is_pinned_without_trusting_the_server(
        self, server: tuple[LogServer, str], tmp_path: Path
    ) -> None:
        forged, url = server
        outcome = await witness(url, tmp_path / "w.json", key=forged.log.key)
        assert outcome.ok and outcome.pinned is None


class TestAFork:
    async def test_a_rewritten_old_entry_is_a_fork(self, seen: Seen) -> None:
        forged, url, state = seen
        before = state.read_text()
        forged.fork(at=3)
        forged.log.grow(4)
        outcome = await witness(url, state)
        assert outcome.alarm == FORK
        report = outcome.report()
        assert report.startswith("ALARM FORK:") and "does not extend" in report
        assert "last verified checkpoint:\n    ohs.test/audit\n    10\n" in report
        assert "checkpoint now served:\n    ohs.test/audit\n    14\n" in report
        assert state.read_text() == before
        assert (await witness(url, state)).alarm == FORK

    async def test_the_same_size_with_another_root_is_a_rollback(self, seen: Seen) -> None:
        forged, url, state = seen
        forged.fork(at=9)
        outcome = await witness(url, state)
        assert outcome.alarm == ROLLBACK and "another root" in outcome.message

    async def test_a_smaller_tree_is_a_rollback(self, seen: Seen) -> None:
        forged, url, state = seen
        shorter = MemoryLog(forged.log.origin, forged.log.private)
        for leaf in forged.log.leaves[:7]:
            shorter.append(leaf)
        forged.log = shorter
        outcome = await witness(url, state)
        assert outcome.alarm == ROLLBACK and "shrank from 10 to 7" in outcome.message


class TestKeys:
    async def test_a_checkpoint_signed_by_another_key_is_a_bad_signature(self, seen: Seen) -> None:
        forged, url, state = seen
        forged.log.grow(2)
        forged.signer = MemoryLog(forged.log.origin)
        outcome = await witness(url, state)
        assert outcome.alarm == BAD_SIGNATURE and "not signed by" in outcome.message

    async def test_a_log_that_publishes_a_new_key_is_a_key_change(self, seen: Seen) -> None:
        forged, url, state = seen
        forged.signer = forged.published = MemoryLog(forged.log.origin)
        outcome = await witness(url, state)
        assert outcome.alarm == KEY_CHANGED and forged.published.key in outcome.message

    async def test_another_key_on_the_command_line_is_a_key_change(self, seen: Seen) -> None:
        _, url, state = seen
        outcome = await witness(url, state, key=MemoryLog().key)
        assert outcome.alarm == KEY_CHANGED


async def run_witness(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "audit.witness", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


class TestTheCommand:
    async def test_first_use_warns_then_a_fork_exits_1_with_both_checkpoints(
        self, server: tuple[LogServer, str], tmp_path: Path
    ) -> None:
        forged, url = server
        state = str(tmp_path / "w.json")
        code, out, err = await run_witness(url, "--state", state)
        assert code == 0 and "first checkpoint of ohs.test/audit: size 10" in out
        assert "WARNING: trust on first use" in err and forged.log.key in err
        forged.log.grow(3)
        code, out, err = await run_witness(url, "--state", state)
        assert code == 0 and "consistent: size 10 -> 13" in out and not err
        forged.fork(at=0)
        forged.log.grow(1)
        code, out, err = await run_witness(url, "--state", state)
        assert code == 1 and "ALARM FORK" in err
        assert "\n    13\n" in err and "\n    14\n" in err

    async def test_usage_and_unreachable(self, tmp_path: Path) -> None:
        code, out, _ = await run_witness("--help")
        assert code == 0 and "FORK" in out and "--interval" in out
        code, _, err = await run_witness("http://127.0.0.1:1", "--key", "nonsense")
        assert code == 2 and "--key" in err
        state = str(tmp_path / "w.json")
        code, _, err = await run_witness(f"http://127.0.0.1:{free_port()}", "--state", state)
        assert code == 3 and "could not check" in err and "Traceback" not in err


class TestWatching:
    async def test_interval_keeps_watching_until_the_log_forks(
        self, server: tuple[LogServer, str], tmp_path: Path
    ) -> None:
        forged, url = server
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "audit.witness", url, "--state", str(tmp_path / "w.json"),
            "--key", forged.log.key, "--interval", "0.2",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert proc.stdout is not None
        first = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert b"first checkpoint" in first
        forged.log.grow(2)
        while b"consistent: size 10 -> 12" not in await asyncio.wait_for(
            proc.stdout.readline(), 30
        ):
            pass
        forged.fork(at=4)
        forged.log.grow(1)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 1 and b"ALARM FORK" in err


class TestTheStateFile:
    async def test_a_damaged_state_file_is_reported_and_kept(
        self, server: tuple[LogServer, str], tmp_path: Path
    ) -> None:
        _, url = server
        state = tmp_path / "w.json"
        assert (await witness(url, state)).ok
        damaged = json.loads(state.read_text())
        damaged["root"] = "not base64!"
        state.write_text(json.dumps(damaged))
        with pytest.raises(Unchecked, match="damaged"):
            await witness(url, state)
        assert json.loads(state.read_text())["root"] == "not base64!"
