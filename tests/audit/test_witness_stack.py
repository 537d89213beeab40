"""The witness, the offline verifier and the PDF against the real stack's log."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from audit.witness import witness
from common.devstack import Stack
from tests.audit.support import Events, SignedProducer, publish, staff, stored
from tests.audit.test_log import proved_history, verifier
from tests.audit.test_report_receipts import text_of
from tests.helpers import Account, eventually, make_user

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
async def director(stack: Stack, http: httpx.AsyncClient) -> Account:
    """A medical director."""
    return await make_user(http, stack, "medical_director")


async def arrive(db: asyncpg.Connection, producer: SignedProducer, events: Events, n: int) -> str:
    """`n` accesses to a new worker's file, stored; the worker id."""
    worker = f"w-{uuid.uuid4()}"
    batch = [await events.make(worker_id=worker, actor=staff()) for _ in range(n)]
    await publish(producer, *batch)
    await eventually(lambda: stored(db, *batch))
    return worker


class TestTheWitnessOnALiveLog:
    async def test_witnessing_twice_while_events_arrive_is_consistent(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        db: asyncpg.Connection,
        producer: SignedProducer,
        events: Events,
        tmp_path: Path,
    ) -> None:
        await arrive(db, producer, events, 3)
        key = (await verifier(stack, http)).string()
        state = tmp_path / "witness.json"
        first = await witness(stack.url("audit"), state, key=key)
        assert first.ok, first.report()
        await arrive(db, producer, events, 7)

        async def grown() -> Any:
            outcome = await witness(stack.url("audit"), state)
            assert outcome.ok, outcome.report()
            return outcome if (outcome.size or 0) > (first.size or 0) else None

        second = await eventually(grown, timeout=15, interval=0.3)
        assert json.loads(state.read_text())["size"] == second.size


async def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, *args, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode() if stdin else None), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


class TestReceiptsOfTheLiveLog:
    async def test_the_offline_verifier_checks_a_history_page_and_the_pdf_names_the_leaves(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        db: asyncpg.Connection,
        producer: SignedProducer,
        events: Events,
        director: Account,
    ) -> None:
        worker = await arrive(db, producer, events, 4)
        items = await proved_history(stack, http, director, worker, 4)
        key = (await verifier(stack, http)).string()
        page = json.dumps({"items": items})
        code, out, err = await run("-m", "audit.verify", "-", "--key", key, stdin=page)
        assert code == 0, err
        assert out.count("  verified") == 4
        for item in items:
            leaf, size = item["receipt"]["leaf_index"], item["receipt"]["tree_size"]
            assert f"event {item['event_id']}  leaf {leaf}  tree size {size}  verified" in out

        resp = await http.get(
            f"{stack.url('audit')}/access-history/{worker}/report.pdf", headers=director.headers
        )
        assert resp.status_code == 200
        text = text_of(resp.content)
        assert "Log leaf / tree" in text
        for item in items:
            leaf = item["receipt"]["leaf_index"]
            assert f"{leaf} / " in text
        assert key.split("+")[0] in text
