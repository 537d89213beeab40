"""The Merkle tree log, black-box: checkpoints, the key, receipts, proofs, a rewritten store."""

from __future__ import annotations

import base64
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from audit.core.merkle import leaf_hash, verify_consistency, verify_inclusion
from audit.core.note import Verifier, parse_verifier, verified_checkpoint
from audit.core.receipt import Receipt, check_receipt
from audit.log.service import NodeCache, receipts
from audit.witness import witness
from common.db import make_sessionmaker
from common.devstack import Stack
from tests.audit.support import (
    LOG_TRIGGERS,
    Events,
    SignedProducer,
    care,
    integrity,
    intruder,
    publish,
    staff,
    stored,
)
from tests.helpers import Account, eventually, make_user

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
async def director(stack: Stack, http: httpx.AsyncClient) -> Account:
    """A medical director."""
    return await make_user(http, stack, "medical_director")


@pytest.fixture(scope="module")
async def logged(
    db: asyncpg.Connection, producer: SignedProducer, events: Events
) -> tuple[str, list[Any]]:
    """A worker with a few accesses in the store."""
    worker = f"w-{uuid.uuid4()}"
    batch = [await events.make(worker_id=worker, actor=staff(), details=care()) for _ in range(5)]
    await publish(producer, *batch)
    await eventually(lambda: stored(db, *batch))
    return worker, batch


async def verifier(stack: Stack, http: httpx.AsyncClient) -> Verifier:
    """The log's verifier, as published."""
    resp = await eventually(lambda: _ok(http, f"{stack.url('audit')}/log/key"), timeout=30)
    key = resp.json()
    parsed = parse_verifier(key["verifier_key"])
    assert parsed.name == key["name"]
    assert base64.b64decode(key["public_key"]) == parsed.public_key
    return parsed


async def _ok(http: httpx.AsyncClient, url: str) -> httpx.Response | None:
    resp = await http.get(url)
    return resp if resp.status_code == 200 else None


async def proved_history(
    stack: Stack, http: httpx.AsyncClient, who: Account, worker: str, count: int
) -> list[dict[str, Any]]:
    """The worker's history once `count` entries carry a receipt."""

    async def probe() -> list[dict[str, Any]] | None:
        resp = await http.get(f"{stack.url('audit')}/access-history/{worker}", headers=who.headers)
        assert resp.status_code == 200, resp.text
        items = resp.json()["items"]
        done = [i for i in items if i["receipt"] is not None]
        return items if len(done) >= count else None

    return await eventually(probe, timeout=30)


class TestCheckpoint:
    async def test_the_checkpoint_is_a_signed_note_of_the_published_key(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        db: asyncpg.Connection,
        logged: tuple[str, list[Any]],
    ):
        key = await verifier(stack, http)
        resp = await http.get(f"{stack.url('audit')}/log/checkpoint")
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/plain")
        assert verified_checkpoint(resp.text, key).origin == key.name
        last = await db.fetchval(
            "SELECT max(position) FROM event WHERE event_id = ANY($1::uuid[])",
            [e.event_id for e in logged[1]],
        )
        await signed_at_least(stack, http, key, last)

    async def test_a_new_checkpoint_follows_new_events_within_seconds(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        db: asyncpg.Connection,
        producer: SignedProducer,
        events: Events,
    ):
        key = await verifier(stack, http)
        envelope = await events.make(worker_id=f"w-{uuid.uuid4()}", actor=staff())
        await publish(producer, envelope)
        await eventually(lambda: stored(db, envelope))
        position = await db.fetchval(
            "SELECT position FROM event WHERE event_id = $1", envelope.event_id
        )

        async def signed() -> bool:
            note = (await http.get(f"{stack.url('audit')}/log/checkpoint")).text
            return verified_checkpoint(note, key).size >= position

        await eventually(signed, timeout=10, interval=0.1)


class TestReceipts:
    async def test_each_history_entry_proves_its_event_with_the_key_alone(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        director: Account,
        logged: tuple[str, list[Any]],
    ):
        worker, batch = logged
        key = await verifier(stack, http)
        items = await proved_history(stack, http, director, worker, len(batch))
        assert {i["event_id"] for i in items} == {str(e.event_id) for e in batch}
        for item in items:
            assert item["pending"] is False
            result = check_receipt(Receipt.from_json(item["receipt"]), key)
            assert result.ok, result.problem
            assert result.event_id == item["event_id"]

    async def test_the_worker_sees_receipts_on_their_own_history(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        db: asyncpg.Connection,
        producer: SignedProducer,
        events: Events,
    ):
        worker = f"w-{uuid.uuid4()}"
        account = await make_user(http, stack, "worker", worker_id=worker)
        envelope = await events.make(worker_id=worker, actor=staff(), details=care())
        await publish(producer, envelope)
        await eventually(lambda: stored(db, envelope))
        key = await verifier(stack, http)

        async def receipt() -> dict[str, Any] | None:
            resp = await http.get(
                f"{stack.url('audit')}/me/access-history", headers=account.headers
            )
            items = resp.json()["items"]
            return items[0]["receipt"] if items and items[0]["receipt"] else None

        assert check_receipt(Receipt.from_json(await eventually(receipt, timeout=10)), key).ok

    async def test_only_positions_in_the_newest_signed_tree_get_one(
        self, stack: Stack, http: httpx.AsyncClient, logged: tuple[str, list[Any]]
    ):
        key = await verifier(stack, http)
        async with owner_session(stack) as session:
            size = await signed_size(session)
            asked = [0, -3, 1, size, size, size + 1, size + 10**9]
            got = await receipts(session, asked, NodeCache())
        assert sorted(got) == [1, size], "nothing outside 1..tree size, each position once"
        for position, receipt in got.items():
            assert (receipt.leaf_index, receipt.tree_size) == (position - 1, size)
            assert check_receipt(receipt, key).ok

    async def test_a_warm_cache_gives_the_receipts_a_cold_one_does(
        self, stack: Stack, http: httpx.AsyncClient, logged: tuple[str, list[Any]]
    ):
        key = await verifier(stack, http)
        async with owner_session(stack) as session:
            # One snapshot: the sequencer may sign a bigger tree between the calls.
            await session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
            size = await signed_size(session)
            # Leaves all over the tree, so that paths end at the right edge at many levels.
            asked = sorted({1, 2, size // 3, size // 2, size - 1, size, *range(1, size, 7)})
            cache = NodeCache()
            cold = await receipts(session, asked, cache)
            assert cache.hashes and cache.edges
            warm = await receipts(session, asked, cache)
            fresh = await receipts(session, asked, NodeCache())
        assert warm == cold == fresh
        assert all(check_receipt(r, key).ok for r in warm.values())


class TestProofs:
    async def test_consistency_between_two_signed_sizes(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        db: asyncpg.Connection,
        producer: SignedProducer,
        events: Events,
        logged: tuple[str, list[Any]],
    ):
        base = stack.url("audit")
        key = await verifier(stack, http)
        first = verified_checkpoint((await http.get(f"{base}/log/checkpoint")).text, key)
        more = [await events.make(worker_id=f"w-{uuid.uuid4()}", actor=staff()) for _ in range(3)]
        await publish(producer, *more)

        async def grown() -> Any:
            body = verified_checkpoint((await http.get(f"{base}/log/checkpoint")).text, key)
            return body if body.size > first.size else None

        second = await eventually(grown, timeout=15)
        resp = await http.get(
            f"{base}/log/consistency", params={"first": first.size, "second": second.size}
        )
        assert resp.status_code == 200, resp.text
        proof = [base64.b64decode(h) for h in resp.json()["proof"]]
        assert verify_consistency(first.size, second.size, first.root, second.root, proof)

        index = first.size - 1
        resp = await http.get(
            f"{base}/log/inclusion", params={"leaf_index": index, "tree_size": second.size}
        )
        assert resp.status_code == 200, resp.text
        body = await db.fetchval("SELECT body FROM event WHERE position = $1", index + 1)
        path = [base64.b64decode(h) for h in resp.json()["proof"]]
        assert verify_inclusion(leaf_hash(body.encode()), index, second.size, path, second.root)

    @pytest.mark.parametrize(
        ("path", "params"),
        [
            ("consistency", {"first": 0, "second": 1}),
            ("consistency", {"first": 3, "second": 2}),
            ("consistency", {"first": 1, "second": 2**61}),
            ("consistency", {"first": "x", "second": 2}),
            ("consistency", {"first": -1, "second": 2}),
            ("inclusion", {"leaf_index": 5, "tree_size": 5}),
            ("inclusion", {"leaf_index": 0, "tree_size": 2**61}),
            ("inclusion", {"leaf_index": 0}),
        ],
    )
    async def test_bad_sizes_get_a_problem(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        logged: tuple[str, list[Any]],
        path: str,
        params: dict[str, Any],
    ):
        resp = await http.get(f"{stack.url('audit')}/log/{path}", params=params)
        assert resp.status_code == 422, resp.text
        assert resp.headers["content-type"].startswith("application/problem+json")


class TestRewrittenStore:
    async def test_a_rewritten_event_is_caught_by_integrity_and_its_receipt(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        db: asyncpg.Connection,
        director: Account,
        logged: tuple[str, list[Any]],
    ):
        worker, batch = logged
        key = await verifier(stack, http)
        await proved_history(stack, http, director, worker, len(batch))
        target = str(batch[1].event_id)
        position = await db.fetchval("SELECT position FROM event WHERE event_id = $1", target)
        async with intruder(db, LOG_TRIGGERS):
            original = await db.fetchval("SELECT body FROM event WHERE position = $1", position)
            await db.execute(
                "UPDATE event SET body = replace(body, '\"read\"', '\"search\"') "
                "WHERE position = $1",
                position,
            )
            try:
                report = await integrity(stack, http, director)
                resp = await http.get(
                    f"{stack.url('audit')}/access-history/{worker}", headers=director.headers
                )
            finally:
                await db.execute(
                    "UPDATE event SET body = $2 WHERE position = $1", position, original
                )
        assert report["ok"] is False
        assert f"leaf {position - 1}" in report["log_problem"]
        entry = next(i for i in resp.json()["items"] if i["event_id"] == target)
        check = check_receipt(Receipt.from_json(entry["receipt"]), key)
        assert not check.ok and "inclusion" in (check.problem or "")
        assert (await integrity(stack, http, director))["ok"] is True

    async def test_a_tree_rebuilt_over_a_rewritten_store_is_a_fork(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        db: asyncpg.Connection,
        director: Account,
        logged: tuple[str, list[Any]],
        tmp_path: Path,
    ):
        base = stack.url("audit")
        key = await verifier(stack, http)
        worker, batch = logged
        await proved_history(stack, http, director, worker, len(batch))
        state = tmp_path / "witness.json"
        first = await witness(base, state, key=key.string())
        assert first.alarm is None, first.message
        seen = verified_checkpoint(json.loads(state.read_text())["note"], key)
        position = await db.fetchval(
            "SELECT position FROM event WHERE event_id = $1", str(batch[2].event_id)
        )
        assert position <= seen.size
        original = await db.fetchval("SELECT body FROM event WHERE position = $1", position)
        # An operator with the service's key: the event is rewritten and the tree rebuilt by
        # the sequencer itself, which signs whatever the store now holds.
        await rebuild_tree(db, position, original.replace('"read"', '"search"'))
        try:
            forged = await signed_at_least(stack, http, key, seen.size)
            resp = await http.get(
                f"{base}/log/consistency", params={"first": seen.size, "second": forged.size}
            )
            proof = [base64.b64decode(h) for h in resp.json()["proof"]]
            assert not verify_consistency(seen.size, forged.size, seen.root, forged.root, proof)
            caught = await witness(base, state, key=key.string())
            assert caught.alarm in {"FORK", "ROLLBACK"}, caught.message
            report = await integrity(stack, http, director)
            assert report["log_problem"] is None, "the rebuilt tree matches the rewritten store"
            assert report["ok"] is False and report["first_broken"]["position"] == position
        finally:
            await rebuild_tree(db, position, original)
        again = await signed_at_least(stack, http, key, seen.size)
        resp = await http.get(
            f"{base}/log/consistency", params={"first": seen.size, "second": again.size}
        )
        proof = [base64.b64decode(h) for h in resp.json()["proof"]]
        assert verify_consistency(seen.size, again.size, seen.root, again.root, proof)
        assert (await witness(base, state, key=key.string())).alarm is None
        assert (await integrity(stack, http, director))["ok"] is True


async def rebuild_tree(db: asyncpg.Connection, position: int, body: str) -> None:
    """Set one stored body and throw the tree away, for the sequencer to build it again."""
    async with intruder(db, LOG_TRIGGERS):
        await db.execute("UPDATE event SET body = $2 WHERE position = $1", position, body)
        await db.execute("TRUNCATE log_tile, log_checkpoint")


async def signed_at_least(stack: Stack, http: httpx.AsyncClient, key: Verifier, size: int) -> Any:
    """The newest checkpoint once the tree is signed at `size` leaves or more again."""

    async def probe() -> Any:
        resp = await http.get(f"{stack.url('audit')}/log/checkpoint")
        if resp.status_code != 200:
            return None
        body = verified_checkpoint(resp.text, key)
        return body if body.size >= size else None

    return await eventually(probe, timeout=20)


@contextlib.asynccontextmanager
async def owner_session(stack: Stack) -> AsyncIterator[AsyncSession]:
    """A session on the audit database as its owner, with an engine of its own."""
    engine = create_async_engine(stack.postgres.url("audit"))
    try:
        async with make_sessionmaker(engine)() as session:
            yield session
    finally:
        await engine.dispose()


async def signed_size(session: AsyncSession) -> int:
    """The size of the newest signed tree."""
    found = await session.execute(text("SELECT max(tree_size) FROM log_checkpoint"))
    return int(found.scalar_one())
