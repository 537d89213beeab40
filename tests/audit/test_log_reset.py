"""A broker that lost its log must not delay or skip events (restart, truncation, reset)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from audit.core.logs import SavedPosition, fingerprint, reset_reason
from common.devstack import Stack, stop_process
from common.events import HEARTBEAT_TOPIC
from tests.audit.support import dsn
from tests.fault.test_faults import Load, history_reads
from tests.helpers import Account, eventually, login, make_user, private_stack


class TestResetReason:
    """The pure check the consumer runs on each saved position."""

    def test_beyond_the_end_or_before_the_earliest_is_another_log(self):
        assert reset_reason(SavedPosition(7, "x"), 0, 0, None)
        assert reset_reason(SavedPosition(3, "x"), 5, 9, None)

    def test_the_same_log_is_kept(self):
        fp = fingerprint(b"message 6")
        assert reset_reason(SavedPosition(7, fp), 0, 7, fp) is None
        assert reset_reason(SavedPosition(7, fp), 0, 12, fp) is None
        assert reset_reason(SavedPosition(0, None), 0, 0, None) is None

    def test_a_log_of_the_same_length_or_longer_is_told_apart(self):
        fp = fingerprint(b"message 6")
        other = fingerprint(b"another message")
        assert reset_reason(SavedPosition(7, fp), 0, 7, other)
        assert reset_reason(SavedPosition(7, fp), 0, 30, other)


@pytest.fixture(scope="module")
async def own_stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    """A stack of its own: these tests restart its broker."""
    async with private_stack(
        Path(tmp_path_factory.mktemp("reset")), "Reset", durable=False
    ) as stack:
        yield stack


@pytest.fixture(scope="module")
async def audit_db(own_stack: Stack) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(dsn(own_stack))
    try:
        yield conn
    finally:
        await conn.close()


async def restart_broker(stack: Stack) -> None:
    """A fresh, empty Tansu on the same port; the databases keep everything."""
    stack.broker.kill()
    await asyncio.to_thread(stack.broker.start)
    await stack.broker.create_topics()


async def send_retrying(producer: AIOKafkaProducer, value: bytes, partition: int) -> None:
    """Tansu refuses a write that races the relays' heartbeats to the same offset (an
    UnknownError, nothing written): try again."""
    for attempt in range(5):
        try:
            await producer.send_and_wait(HEARTBEAT_TOPIC, value, partition=partition)
            return
        except KafkaError:
            if attempt == 4:
                raise
            await asyncio.sleep(0.05)


async def new_file(http: httpx.AsyncClient, stack: Stack, author: Account, name: str) -> str:
    resp = await http.post(
        f"{stack.url('records')}/workers",
        json={"first_name": name, "last_name": "Reset", "birth_date": "1980-01-01",
              "employer": "Reset Ltd"},
        headers=author.headers,
    )  # fmt: skip
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


async def entries(http: httpx.AsyncClient, stack: Stack, director: Account, worker: str) -> list:
    resp = await http.get(
        f"{stack.url('audit')}/access-history/{worker}",
        params={"limit": 200},
        headers=director.headers,
    )
    assert resp.status_code == 200, resp.text
    return list(resp.json()["items"])


@pytest.mark.asyncio
class TestBrokerRestart:
    async def test_a_read_and_a_denial_after_restart_arrive_at_once(
        self, own_stack: Stack, audit_db: asyncpg.Connection
    ):
        stack = own_stack
        async with httpx.AsyncClient(timeout=30) as http:
            physician = await make_user(http, stack, "physician")
            clerk = await make_user(http, stack, "admin_staff")
            director = await make_user(http, stack, "medical_director")
            before = await new_file(http, stack, physician, "Before")
            # Some traffic, so the saved positions are past 0 on several partitions.
            for _ in range(6):
                url = f"{stack.url('records')}/workers/{before}/record"
                assert (await http.get(url, headers=physician.headers)).status_code == 200
            await eventually(
                lambda: audit_db.fetchval(
                    "SELECT count(*) >= 1 FROM consumer_position WHERE next_offset > 0 "
                    "AND topic = 'access-events'"
                )
            )
            worker = await new_file(http, stack, physician, "After")
            await asyncio.sleep(1)

            await restart_broker(stack)
            # Clients notice the new broker and reconnect (their backoff is short).
            await asyncio.sleep(3)

            url = f"{stack.url('records')}/workers/{worker}/record"
            assert (await http.get(url, headers=physician.headers)).status_code == 200
            assert (await http.get(url, headers=clerk.headers)).status_code == 403
            served = time.monotonic()

            async def both() -> list | None:
                items = await entries(http, stack, director, worker)
                reads = [e for e in items if e["action"] == "read" and e["part"] == "record"]
                ok = {e["outcome"] for e in reads} >= {"success", "denied"}
                return reads if ok else None

            reads = await eventually(both, timeout=2.0, interval=0.1)
            catch_up = time.monotonic() - served
            print(f"restart_catch_up_s={catch_up:.2f}")
            assert len(reads) == 2, reads
            assert len(
                {e["event_id"] for e in await entries(http, stack, director, worker)}
            ) == len(await entries(http, stack, director, worker))
            dupes = await audit_db.fetchval(
                "SELECT count(*) FROM (SELECT event_id FROM event GROUP BY event_id "
                "HAVING count(*) > 1) d"
            )
            assert dupes == 0
            assert await audit_db.fetchval("SELECT count(*) FROM log_reset") > 0

    async def test_reads_during_a_restart_each_traced_once(
        self, own_stack: Stack, audit_db: asyncpg.Connection
    ):
        stack = own_stack
        async with httpx.AsyncClient(timeout=30) as http:
            physician = await make_user(http, stack, "physician")
            director = await make_user(http, stack, "medical_director")
            workers = [await new_file(http, stack, physician, f"Load{i}") for i in range(6)]
            load = Load(stack, physician, workers)
            task = asyncio.create_task(load.run())
            try:
                await asyncio.sleep(3)
                await restart_broker(stack)
                back = time.monotonic()
                await asyncio.sleep(2)
            finally:
                load.stopping = True
                await task
            assert sum(load.served.values()) > 0
            director.token = (await login(http, stack, director.username, director.password))[
                "access_token"
            ]

            async def traced_exactly() -> bool:
                for worker in workers:
                    if (
                        await history_reads(http, stack, director, worker, physician)
                        != (load.served[worker])
                    ):
                        return False
                return True

            remaining = max(0.5, 5.0 - (time.monotonic() - back))
            await eventually(traced_exactly, timeout=remaining, interval=0.2)
            print(f"restart_under_load_catch_up_s={time.monotonic() - back:.2f}")
            resp = await http.get(
                f"{stack.url('audit')}/alerts",
                params={"kind": "broker_log_reset"},
                headers=director.headers,
            )
            assert resp.status_code == 200, resp.text
            alerts = resp.json()["items"]
            assert alerts and alerts[0]["severity"] == "high"

    async def test_a_stack_restart_with_the_database_kept(
        self, own_stack: Stack, audit_db: asyncpg.Connection
    ):
        """`make run` again over kept data: services, relays, consumer and an empty broker all
        start afresh; the notice says why nothing is lost, and the trail is there at once."""
        stack = own_stack
        async with httpx.AsyncClient(timeout=30) as http:
            physician = await make_user(http, stack, "physician")
            clerk = await make_user(http, stack, "admin_staff")
            director = await make_user(http, stack, "medical_director")
            worker = await new_file(http, stack, physician, "Restarted")
            for child in stack.children.values():
                stop_process(child.proc)
            stack.broker.kill()
            await asyncio.to_thread(stack.broker.start)
            await stack.broker.create_topics()
            said: list[str] = []
            stack.say = said.append
            try:
                stack._say_if_restarted()
            finally:
                stack.say = lambda _: None
            assert any("nothing is lost" in line for line in said), said
            stack.start_children()
            await stack.wait_ready(60)
            for account in (physician, clerk, director):
                account.token = (await login(http, stack, account.username, account.password))[
                    "access_token"
                ]
            url = f"{stack.url('records')}/workers/{worker}/record"
            assert (await http.get(url, headers=physician.headers)).status_code == 200
            assert (await http.get(url, headers=clerk.headers)).status_code == 403
            served = time.monotonic()

            async def both() -> bool:
                items = await entries(http, stack, director, worker)
                reads = [e for e in items if e["action"] == "read" and e["part"] == "record"]
                return {e["outcome"] for e in reads} >= {"success", "denied"}

            await eventually(both, timeout=2.0, interval=0.1)
            print(f"stack_restart_catch_up_s={time.monotonic() - served:.2f}")

    async def test_a_new_log_longer_than_the_saved_position_is_a_reset(
        self, own_stack: Stack, audit_db: asyncpg.Connection
    ):
        stack = own_stack
        await eventually(
            lambda: audit_db.fetchval(
                "SELECT count(*) > 0 FROM consumer_position WHERE topic = $1 AND next_offset > 0 "
                "AND fingerprint IS NOT NULL",
                HEARTBEAT_TOPIC,
            )
        )
        stack.kill_child("audit-consumer")
        saved = await audit_db.fetch(
            "SELECT partition, next_offset FROM consumer_position WHERE topic = $1",
            HEARTBEAT_TOPIC,
        )
        known = await audit_db.fetchval("SELECT coalesce(max(id), 0) FROM log_reset")
        await restart_broker(stack)
        producer = AIOKafkaProducer(
            bootstrap_servers=stack.broker.bootstrap, enable_idempotence=False
        )
        await producer.start()
        try:
            # Another log, as long as the old one and longer: beats that announce nothing.
            for row in saved:
                for i in range(row["next_offset"] + 3):
                    beat = json.dumps({"source": "records", "last_seq": 0, "n": i}).encode()
                    await send_retrying(producer, beat, row["partition"])
        finally:
            await producer.stop()
        stack.start_children(["audit-consumer"])
        reasons = await eventually(
            lambda: audit_db.fetch(
                "SELECT reason FROM log_reset WHERE id > $1 AND topic = $2", known, HEARTBEAT_TOPIC
            ),
            timeout=30,
        )
        assert any("different log" in r["reason"] for r in reasons), reasons
