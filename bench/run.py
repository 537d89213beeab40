"""`make bench`: a private stack, five scenarios, figures written to bench/results.json.

Every figure is measured in this run on this machine; ratios compare runs of the same process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from audit.core.hashing import GENESIS, canonical_json, link_hash
from audit.log.service import inclusion_proof
from audit.projections.service import PROJECTOR_LOCK
from audit.store.service import CHAIN_LOCK
from bench.loadgen import closed_loop, open_loop
from common.db import make_sessionmaker
from common.devstack import REPO, Ports, Stack, free_port, stop_process, wait_for_port
from common.events import (
    ALL_TOPICS,
    HEARTBEAT_TOPIC,
    TOPIC_BY_SOURCE,
    AccessEvent,
    Actor,
    EventDraft,
    Resource,
    format_time,
)
from common.outbox import record_events
from common.signing import EventSigner, load_private_key

PASSWORD = "Bench-Passw0rd-42!"
READ_ROUNDS = 3
# name: (scenario, figure, comparison, bound): the only place a target is written.
GOALS: dict[str, tuple[str, str, str, float]] = {
    "audited_read_ratio": ("reads", "ratio", ">=", 0.9),
    "pipeline_events_per_s": ("pipeline", "stored_events_per_s", ">=", 2500),
    "drain_events_per_s": ("drain", "drain_events_per_s", ">=", 5000),
    "projection_lag_p99_ms": ("projection_lag", "lag_ms_p99", "<=", 500),
    "history_query_p99_ms": ("history_query", "latency_ms_p99", "<=", 20),
    "inclusion_proof_p99_ms": ("history_query", "inclusion_proof_ms_p99", "<=", 5),
}
TARGETS = {name: f"{op} {bound:g}" for name, (_, _, op, bound) in GOALS.items()}


def say(text: str) -> None:
    """Progress on the terminal."""
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {text}", flush=True)


@dataclass
class Sizes:
    """How much work each scenario does (--quick shrinks everything for a smoke run)."""

    workers: int
    read_seconds: float
    produce_messages: int
    copy_rows: int
    pipeline_seconds: float
    pipeline_rate: int
    lag_seconds: float
    lag_rate: float
    store_events: int
    store_workers: int
    history_queries: int
    drill_workers: int
    drain_events: int

    @classmethod
    def full(cls) -> Sizes:
        return cls(
            200,
            20,
            100_000,
            1_000_000,
            60,
            3_000,
            30,
            200,
            10_000_000,
            10_000,
            400,
            252_000,
            200_000,
        )

    @classmethod
    def quick(cls) -> Sizes:
        return cls(30, 3, 5_000, 50_000, 8, 500, 5, 50, 50_000, 500, 40, 2_000, 20_000)


def machine() -> dict[str, Any]:
    """What this machine is."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    except OSError:
        mem_kb = 0
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO
    ).stdout.strip()
    return {
        "cpu": model or platform.processor(),
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "git_commit": commit,
    }


class Api:
    """The few API calls the benchmark needs."""

    def __init__(self, stack: Stack, http: httpx.AsyncClient) -> None:
        self.stack, self.http = stack, http

    async def login(self, username: str, password: str) -> str:
        resp = await self.http.post(
            f"{self.stack.url('identity')}/auth/login",
            json={"username": username, "password": password},
        )
        resp.raise_for_status()
        return str(resp.json()["access_token"])

    async def user(self, admin: str, profile: str) -> tuple[str, str, str]:
        """Create an account; return (id, username, token)."""
        username = f"bench-{profile}-{uuid.uuid4().hex[:6]}"
        resp = await self.http.post(
            f"{self.stack.url('identity')}/users",
            json={"username": username, "display_name": f"Bench {profile}",
                  "profile": profile, "password": PASSWORD,
                  "password_change_required": False},
            headers={"Authorization": f"Bearer {admin}"},
        )  # fmt: skip
        resp.raise_for_status()
        return resp.json()["id"], username, await self.login(username, PASSWORD)

    async def worker(self, token: str, n: int, care: str) -> str:
        headers = {"Authorization": f"Bearer {token}"}
        resp = await self.http.post(
            f"{self.stack.url('records')}/workers",
            json={"first_name": f"Bench{n}", "last_name": "Worker", "birth_date": "1985-05-05",
                  "employer": f"Employer {n % 7}", "care_team": [care]},
            headers=headers,
        )  # fmt: skip
        resp.raise_for_status()
        wid = resp.json()["id"]
        resp = await self.http.post(
            f"{self.stack.url('records')}/workers/{wid}/exams",
            json={"kind": "periodic", "performed_on": "2026-01-15",
                  "findings": "Audiometry stable; no complaint.", "diagnoses": ["J45.0"]},
            headers=headers,
        )  # fmt: skip
        resp.raise_for_status()
        return str(wid)


async def prepare(stack: Stack, sizes: Sizes) -> dict[str, Any]:
    """Staff accounts and workers with an exam each."""
    async with httpx.AsyncClient(timeout=30) as http:
        api = Api(stack, http)
        admin = await api.login("admin", stack.admin_password)
        physician = await api.user(admin, "physician")
        director = await api.user(admin, "medical_director")
        sem = asyncio.Semaphore(8)

        async def one(n: int) -> str:
            async with sem:
                return await api.worker(physician[2], n, physician[0])

        workers = await asyncio.gather(*(one(n) for n in range(sizes.workers)))
    return {"physician": physician, "director": director, "workers": list(workers)}


def dsn(stack: Stack, db: str) -> str:
    """Superuser DSN for asyncpg."""
    return stack.postgres.url(db).replace("+asyncpg", "")


async def raw_limits(stack: Stack, sizes: Sizes) -> dict[str, Any]:
    """The machine's own ceilings: broker produce, PostgreSQL COPY, an empty endpoint."""
    say(f"raw limits: produce {sizes.produce_messages:,} messages with aiokafka")
    draft = EventDraft(source="records", action="read", actor=None)
    envelope = json.dumps(draft.payload()).encode()
    producer = AIOKafkaProducer(
        bootstrap_servers=stack.broker.bootstrap, acks="all", enable_idempotence=False,
        linger_ms=5, max_batch_size=1 << 20,
    )  # fmt: skip
    await producer.start()
    try:
        t0 = time.perf_counter()
        futures = [
            await producer.send("access-events", envelope, key=str(i % 500).encode())
            for i in range(sizes.produce_messages)
        ]
        await asyncio.gather(*futures)
        produce_s = time.perf_counter() - t0
    finally:
        await producer.stop()

    say(f"raw limits: COPY {sizes.copy_rows:,} rows into PostgreSQL")
    conn = await asyncpg.connect(dsn(stack, "records"))
    try:
        await conn.execute(
            "CREATE TABLE bench_copy (id bigint, label text, at timestamptz, body text)"
        )
        now = datetime.now(UTC)
        rows = ((i, f"label-{i}", now, "x" * 200) for i in range(sizes.copy_rows))
        t0 = time.perf_counter()
        await conn.copy_records_to_table("bench_copy", records=rows)
        copy_s = time.perf_counter() - t0
        await conn.execute("DROP TABLE bench_copy")
    finally:
        await conn.close()

    say("raw limits: an endpoint that does nothing, 32 clients")
    port = free_port()
    noop = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench.noop:app", "--host", "127.0.0.1",
         "--port", str(port), "--no-access-log", "--log-level", "warning"],
        cwd=REPO,
    )  # fmt: skip
    try:
        wait_for_port(port, 20, "noop endpoint", noop)
        result = await closed_loop(
            "127.0.0.1", port, lambda _: "/noop", lambda _: {},
            concurrency=32, seconds=sizes.read_seconds,
        )  # fmt: skip
    finally:
        stop_process(noop)
    return {
        "broker_produce_msgs_per_s": round(sizes.produce_messages / produce_s),
        "broker_message_bytes": len(envelope),
        "postgres_copy_rows_per_s": round(sizes.copy_rows / copy_s),
        "noop_endpoint": result.summary(),
    }


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def postgres_cpu(postmaster: int) -> float:
    """CPU time of a PostgreSQL server: the postmaster, the backends it has reaped and the
    ones still running."""
    tick = os.sysconf("SC_CLK_TCK")
    try:
        own = _stat(postmaster)
    except OSError:
        return 0.0
    total = sum(int(f) for f in own[11:15])
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = _stat(int(entry.name))
        except OSError:
            continue
        if int(fields[1]) == postmaster:
            total += int(fields[11]) + int(fields[12])
    return total / tick


def stack_cpu(stack: Stack) -> dict[str, float]:
    """CPU seconds used so far by each process of the stack, PostgreSQL, the broker and this
    load generator."""
    used = {
        name: cpu_seconds(child.proc.pid)
        for name, child in stack.children.items()
        if child.proc is not None
    }
    pid_file = stack.postgres.pgdata / "postmaster.pid"
    with contextlib.suppress(OSError, ValueError):
        used["postgres"] = postgres_cpu(int(pid_file.read_text().split()[0]))
    if stack.broker.proc is not None:
        used["broker"] = cpu_seconds(stack.broker.proc.pid)
    used["load generator"] = sum(os.times()[:2])
    return used


def cpu_split(
    before: dict[str, float], after: dict[str, float], n: int, unit: float, digits: int
) -> dict[str, float]:
    """CPU per item (in `unit`s of a second) in each process between two stack_cpu() readings,
    largest first (a process under the last digit shown is left out), with their total."""
    used = {k: (v - before.get(k, 0.0)) * unit / max(n, 1) for k, v in after.items()}
    least = 10.0**-digits
    shown = {
        k: round(v, digits) for k, v in sorted(used.items(), key=lambda kv: -kv[1]) if v >= least
    }
    return {**shown, "total": round(sum(used.values()), digits)}


def cpu_per_request(before: dict[str, float], after: dict[str, float], n: int) -> dict[str, float]:
    """Milliseconds of CPU per request in each process (a process under 0.01 ms left out)."""
    return cpu_split(before, after, n, 1000, 2)


def cpu_per_event(before: dict[str, float], after: dict[str, float], n: int) -> dict[str, float]:
    """Microseconds of CPU per event in each process (a process under 0.1 µs left out)."""
    return cpu_split(before, after, n, 1e6, 1)


async def restart_records(stack: Stack, audit_access: bool) -> None:
    """Restart the records service with access tracing on or off."""
    stack.extra_env["OHS_AUDIT_ACCESS"] = "true" if audit_access else "false"
    stack.kill_child("records")
    stack.start_children(["records"])
    await stack.wait_ready(60)


async def reads(stack: Stack, fx: dict[str, Any], sizes: Sizes, label: str) -> dict[str, Any]:
    """32 clients reading whole records as fast as the service answers."""
    workers = fx["workers"]
    async with httpx.AsyncClient() as http:
        physician = fx["physician"]
        token = await Api(stack, http).login(physician[1], PASSWORD)
    headers = {"Authorization": f"Bearer {token}"}
    port = stack.ports.services["records"]
    say(f"reads ({label}): warm-up")
    await closed_loop("127.0.0.1", port, lambda i: f"/workers/{workers[i % len(workers)]}/record",
                      lambda _: headers, concurrency=32, seconds=2)  # fmt: skip
    say(f"reads ({label}): 32 clients for {sizes.read_seconds:.0f}s")
    before = stack_cpu(stack)
    result = await closed_loop(
        "127.0.0.1", port, lambda i: f"/workers/{workers[i % len(workers)]}/record",
        lambda _: headers, concurrency=32, seconds=sizes.read_seconds,
    )  # fmt: skip
    summary: dict[str, Any] = dict(result.summary())
    # Where each read's CPU went, process by process: what sets the ratio on two cores.
    summary["cpu_ms_per_read"] = cpu_per_request(
        before, stack_cpu(stack), int(summary["requests_ok"])
    )
    return summary


async def audited_vs_unaudited(stack: Stack, fx: dict[str, Any], sizes: Sizes) -> dict[str, Any]:
    """Three rounds of the same endpoint traced then untraced; the ratio of each round and their
    median (the spread says how far one round can be trusted)."""
    rounds = []
    for n in range(1, READ_ROUNDS + 1):
        audited = await reads(stack, fx, sizes, f"audited, round {n}")
        await restart_records(stack, audit_access=False)
        unaudited = await reads(stack, fx, sizes, f"tracing off, round {n}")
        await restart_records(stack, audit_access=True)
        rounds.append(
            {
                "audited": audited,
                "unaudited": unaudited,
                "ratio": round(audited["throughput_per_s"] / unaudited["throughput_per_s"], 3),
            }
        )
    ratios = sorted(r["ratio"] for r in rounds)

    def median_cpu(side: str) -> dict[str, float]:
        names = {k for r in rounds for k in r[side]["cpu_ms_per_read"]}
        per = {k: sorted(r[side]["cpu_ms_per_read"].get(k, 0.0) for r in rounds) for k in names}
        middle = {k: v[len(v) // 2] for k, v in per.items() if v[len(v) // 2] >= 0.01}
        return dict(sorted(middle.items(), key=lambda kv: (kv[0] != "total", -kv[1])))

    audited_mean = sum(r["audited"]["throughput_per_s"] for r in rounds) / len(rounds)
    unaudited_mean = sum(r["unaudited"]["throughput_per_s"] for r in rounds) / len(rounds)
    return {
        "rounds": rounds,
        "audited_throughput_per_s": round(audited_mean, 1),
        "unaudited_throughput_per_s": round(unaudited_mean, 1),
        "ratio": ratios[len(ratios) // 2],
        "ratio_min": ratios[0],
        "ratio_max": ratios[-1],
        "cpu_ms_per_read": {"audited": median_cpu("audited"), "unaudited": median_cpu("unaudited")},
    }


async def store_count(conn: asyncpg.Connection) -> tuple[int, int]:
    """Events in the store and entries in the access-history projection."""
    events = await conn.fetchval("SELECT count(*) FROM event")
    entries = await conn.fetchval("SELECT count(*) FROM access_entry")
    return int(events), int(entries)


async def wait_drained(stack: Stack, conn: asyncpg.Connection, timeout: float = 600) -> float:
    """Wait until the store holds every event the records outbox has numbered."""
    records = await asyncpg.connect(dsn(stack, "records"))
    t0 = time.perf_counter()
    try:
        while time.perf_counter() - t0 < timeout:
            pending = await records.fetchval(
                "SELECT count(*) FROM outbox WHERE published_at IS NULL"
            )
            numbered = await records.fetchval("SELECT coalesce(max(source_seq), 0) FROM outbox")
            stored = await conn.fetchval(
                "SELECT coalesce(max(source_seq), 0) FROM event WHERE source = 'records'"
            )
            if pending == 0 and stored >= numbered:
                break
            await asyncio.sleep(0.5)
        else:
            say(f"  the store did not catch up within {timeout:.0f}s")
    finally:
        await records.close()
    return time.perf_counter() - t0


def physicians(name: str, count: int = 300) -> list[Actor]:
    """Staff members named after a scenario, to spread its reads over."""
    return [
        Actor(user_id=f"{name}-staff-{i}", username=f"{name}{i}",
              display_name=f"{name.title()} Staff {i}", profile="physician")
        for i in range(count)
    ]  # fmt: skip


async def pipeline(stack: Stack, sizes: Sizes) -> dict[str, Any]:
    """Events offered to the records outbox at a fixed rate; what reaches store + projections."""
    engine = create_async_engine(stack.postgres.url("records"), pool_size=4)
    maker = make_sessionmaker(engine)
    audit = await asyncpg.connect(dsn(stack, "audit"))
    # Reads spread over 300 staff members, as in the service; one actor reading thousands of
    # files would be a mass-access alert on every event, which is not the steady state.
    actors = physicians("bench")
    workers = [str(uuid.uuid4()) for _ in range(5_000)]
    offered = 0
    stop = asyncio.Event()

    async def writer() -> None:
        nonlocal offered
        batch = max(1, sizes.pipeline_rate // 10)
        start = time.perf_counter()
        while not stop.is_set():
            events = [
                EventDraft(source="records", action="read", actor=random.choice(actors),
                           worker_id=random.choice(workers),
                           resource=Resource(type="worker", part="record"),
                           details={"care_relationship": True, "worker_employer": "Bench Ltd",
                                    "grant_id": None})
                for _ in range(batch)
            ]  # fmt: skip
            async with maker() as session:
                await record_events(session, events)
                await session.commit()
            offered += batch
            ahead = start + offered / sizes.pipeline_rate - time.perf_counter()
            if ahead > 0:
                await asyncio.sleep(ahead)

    say(f"pipeline: offering {sizes.pipeline_rate:,} events/s to the outbox; warm-up 5 s")
    task = asyncio.create_task(writer())
    try:
        await asyncio.sleep(5)
        e0, a0 = await store_count(audit)
        before = stack_cpu(stack)
        t0 = time.perf_counter()
        say(f"pipeline: measuring for {sizes.pipeline_seconds:.0f}s")
        await asyncio.sleep(sizes.pipeline_seconds)
        e1, a1 = await store_count(audit)
        after = stack_cpu(stack)
        elapsed = time.perf_counter() - t0
        offered_rate = offered / (time.perf_counter() - t0 + 5)
    finally:
        stop.set()
        await task
    say("pipeline: waiting for the backlog to drain")
    drain = await wait_drained(stack, audit)
    await audit.close()
    await engine.dispose()
    return {
        "offered_events_per_s": round(offered_rate),
        "stored_events_per_s": round((e1 - e0) / elapsed),
        "projected_entries_per_s": round((a1 - a0) / elapsed),
        "measured_seconds": round(elapsed, 1),
        "backlog_drain_seconds": round(drain, 1),
        # The load generator here is the writer of the outbox rows: a records service's work.
        "cpu_us_per_event": cpu_per_event(before, after, e1 - e0),
    }


async def caught_up(stack: Stack, audit: asyncpg.Connection, timeout: float = 900) -> None:
    """Wait until the audit consumer's saved positions reach the end of every partition."""
    probe = AIOKafkaConsumer(bootstrap_servers=stack.broker.bootstrap, group_id=None)
    await probe.start()
    try:
        await probe.topics()
        parts = [
            TopicPartition(t, p)
            for t in (*ALL_TOPICS, HEARTBEAT_TOPIC)
            for p in probe.partitions_for_topic(t) or ()
        ]
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < timeout:
            end = await probe.end_offsets(parts)
            rows = await audit.fetch("SELECT topic, partition, next_offset FROM consumer_position")
            saved = {(r["topic"], r["partition"]): r["next_offset"] for r in rows}
            # Heartbeats keep coming: a few behind on their partition is caught up.
            if all(saved.get((tp.topic, tp.partition), 0) >= end[tp] - 5 for tp in parts):
                return
            await asyncio.sleep(1)
        say("  the consumer did not catch up with the topics")
    finally:
        await probe.stop()


PROGRESS_SQL = (
    "SELECT (SELECT coalesce(max(position), 0) FROM event) AS head, "
    "(SELECT coalesce(max(position), 0) FROM projection_position "
    "WHERE name = 'projections') AS projected, "
    "(SELECT coalesce(max(tree_size), 0) FROM log_checkpoint) AS signed"
)


async def behind(audit: asyncpg.Connection, upto: int | None = None) -> bool:
    """Whether the projections or the newest signed tree are short of `upto` (the store's
    head when not given); index lookups only."""
    row = await audit.fetchrow(PROGRESS_SQL)
    target = row["head"] if upto is None else upto
    return bool(row["projected"] < target or row["signed"] < target)


async def folded_and_signed(audit: asyncpg.Connection, timeout: float = 900) -> None:
    """Wait until the projections and the newest signed tree reach the store's head."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if not await behind(audit):
            return
        await asyncio.sleep(1)
    say("  the projections or the tree did not catch up with the store")


async def drain_settled(
    audit: asyncpg.Connection, ends: dict[tuple[str, int], int], upto: list[int]
) -> bool:
    """Whether the drain looks done (index lookups only): every produced offset read, then
    the projections and the newest checkpoint at the store's head as it was once they were
    (`upto` keeps that head between calls)."""
    if not upto:
        saved = {
            (r["topic"], r["partition"]): r["next_offset"]
            for r in await audit.fetch(
                "SELECT topic, partition, next_offset FROM consumer_position"
            )
        }
        if any(saved.get(place, 0) < end for place, end in ends.items()):
            return False
        upto.append(await audit.fetchval("SELECT coalesce(max(position), 0) FROM event"))
    return not await behind(audit, upto[0])


async def drain_counts(
    audit: asyncpg.Connection, first: int, last: int, workers: list[str]
) -> tuple[int, int]:
    """How many of the drain's events are stored, and how many are in the histories."""
    stored = await audit.fetchval(
        "SELECT count(*) FROM event WHERE source = 'records' AND source_seq BETWEEN $1 AND $2",
        first,
        last,
    )
    projected = await audit.fetchval(
        "SELECT count(*) FROM access_entry WHERE worker_id = ANY($1::text[])", workers
    )
    return int(stored), int(projected)


async def drain(stack: Stack, sizes: Sizes) -> dict[str, Any]:
    """Events already waiting in Kafka (signed as the records relay signs them), the audit
    consumer started cold: time until every one is stored, projected and in a signed tree."""
    n = sizes.drain_events
    records = await asyncpg.connect(dsn(stack, "records"))
    audit = await asyncpg.connect(dsn(stack, "audit"))
    # What earlier scenarios left in the topics (raw_limits' unnumbered envelopes) is read and
    # quarantined first, and what they left to fold and sign (the pipeline's backlog) is folded
    # and signed: the drain times these events only.
    await caught_up(stack, audit)
    await folded_and_signed(audit)
    try:
        # Numbers taken from the relay's own cursor: its later events never collide with
        # these, and its heartbeats announce them (nothing is judged implausible).
        await records.execute(
            "INSERT INTO outbox_cursor (source, last_seq) VALUES ('records', 0) "
            "ON CONFLICT (source) DO NOTHING"
        )
        last = await records.fetchval(
            "UPDATE outbox_cursor SET last_seq = last_seq + $1 WHERE source = 'records' "
            "RETURNING last_seq",
            n,
        )
    finally:
        await records.close()
    first = last - n + 1
    # The running consumer reads a heartbeat announcing them before it is stopped.
    await asyncio.sleep(3)
    stack.kill_child("audit-consumer")
    signer = EventSigner(load_private_key(stack.event_key_path("records").read_bytes()))
    actors = physicians("drain")
    workers = [str(uuid.uuid4()) for _ in range(2_000)]
    say(f"drain: producing {n:,} signed envelopes into {TOPIC_BY_SOURCE['records']}")
    producer = AIOKafkaProducer(
        bootstrap_servers=stack.broker.bootstrap, acks="all", enable_idempotence=False,
        linger_ms=5, max_batch_size=1 << 20,
    )  # fmt: skip
    await producer.start()
    try:
        futures = []
        for i in range(n):
            worker = random.choice(workers)
            draft = EventDraft(
                source="records", action="read", actor=random.choice(actors), worker_id=worker,
                resource=Resource(type="worker", part="record"),
                details={"care_relationship": True, "worker_employer": "Bench Ltd",
                         "grant_id": None},
            )  # fmt: skip
            value = json.dumps({**draft.payload(), "source_seq": first + i}).encode()
            headers = [("source", b"records"), *signer.headers(value)]
            futures.append(
                await producer.send(
                    TOPIC_BY_SOURCE["records"], value, key=worker.encode(), headers=headers
                )
            )
        sent = await asyncio.gather(*futures)
    finally:
        await producer.stop()
    ends: dict[tuple[str, int], int] = {}
    for meta in sent:
        place = (meta.topic, meta.partition)
        ends[place] = max(ends.get(place, 0), meta.offset + 1)
    count = int(os.environ.get("BENCH_DRAIN_CONSUMERS", "1"))
    say(f"drain: starting {count} audit consumer(s) cold")
    # The projector process (when the stack runs one) works through the drain too: its CPU
    # from here on counts with the consumers'.
    folder = stack.children.get("audit-projector")
    folder_pid = folder.proc.pid if folder is not None and folder.proc is not None else None
    folder_cpu = cpu_seconds(folder_pid) if folder_pid else 0.0
    before = stack_cpu(stack)
    t0 = time.perf_counter()
    stack.start_children(["audit-consumer"])
    spec = stack.children["audit-consumer"]
    env = stack.child_env("audit-consumer", stack.env())
    extra = [
        subprocess.Popen(spec.argv, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        for log in (
            (stack.logs / f"audit-consumer-{i}.log").open("ab") for i in range(2, count + 1)
        )
    ]
    procs = [p for p in (spec.proc, *extra) if p is not None]
    stored = projected = 0
    upto: list[int] = []
    try:
        while time.perf_counter() - t0 < 1800:
            # Cheap signals each quarter second (a count over 200,000 rows four times a second
            # would take CPU from the consumer on two cores); the counts once they agree.
            if await drain_settled(audit, ends, upto):
                stored, projected = await drain_counts(audit, first, last, workers)
                if stored >= n and projected >= n:
                    break
            await asyncio.sleep(0.25)
        else:
            say("  the consumer did not drain within 1800 s")
            stored, projected = await drain_counts(audit, first, last, workers)
        cpu = [cpu_seconds(p.pid) for p in procs]
        if folder_pid:
            cpu.append(cpu_seconds(folder_pid) - folder_cpu)
        # The consumer started cold: stack_cpu() read it as 0 before.
        after = {**stack_cpu(stack), "audit-consumer": sum(cpu_seconds(p.pid) for p in procs)}
    finally:
        await audit.close()
        for proc in extra:
            stop_process(proc)
    elapsed = time.perf_counter() - t0
    return {
        "consumers": count,
        "projector_process": folder_pid is not None,
        # The machine is shared: its load during the run says what the figures are worth.
        "load_average_1m": round(os.getloadavg()[0], 2),
        "consumer_cpu_s": [round(c, 1) for c in cpu],
        "consumer_cpu_us_per_event": round(sum(cpu) / max(1, min(stored, projected)) * 1e6),
        # Every process's share, PostgreSQL and the broker included: the profile of the drain.
        "cpu_us_per_event": cpu_per_event(before, after, min(stored, projected)),
        "events": n,
        "stored": int(stored),
        "projected": int(projected),
        "drain_seconds": round(elapsed, 1),
        "drain_events_per_s": round(min(stored, projected) / elapsed),
    }


async def projection_lag(stack: Stack, fx: dict[str, Any], sizes: Sizes) -> dict[str, Any]:
    """Reads at a fixed rate; time from the access to its entry in the worker's history."""
    workers = fx["workers"]
    async with httpx.AsyncClient() as http:
        token = await Api(stack, http).login(fx["physician"][1], PASSWORD)
    say(f"projection lag: {sizes.lag_rate:.0f} reads/s for {sizes.lag_seconds:.0f}s")
    since = datetime.now(UTC)
    result = await open_loop(
        "127.0.0.1", stack.ports.services["records"],
        lambda i: f"/workers/{workers[i % len(workers)]}/record",
        {"Authorization": f"Bearer {token}"}, rate=sizes.lag_rate, seconds=sizes.lag_seconds,
    )  # fmt: skip
    audit = await asyncpg.connect(dsn(stack, "audit"))
    try:
        await wait_drained(stack, audit, timeout=120)
        # From the access to the projector writing its history entry.
        row = await audit.fetchrow(
            "SELECT count(*) AS n, "
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY lag) AS p50, "
            "percentile_cont(0.99) WITHIN GROUP (ORDER BY lag) AS p99, max(lag) AS max "
            "FROM (SELECT extract(epoch FROM coalesce(a.projected_at, e.recorded_at) "
            "      - e.occurred_at) * 1000 AS lag "
            "      FROM event e JOIN access_entry a ON a.position = e.position "
            "      WHERE e.actor_user_id = $1 AND e.action = 'read' AND e.occurred_at >= $2) s",
            fx["physician"][0],
            since,
        )
    finally:
        await audit.close()
    return {
        "rate_per_s": sizes.lag_rate,
        "requests": result.summary(),
        "events_measured": row["n"],
        "lag_ms_p50": round(float(row["p50"] or 0), 1),
        "lag_ms_p99": round(float(row["p99"] or 0), 1),
        "lag_ms_max": round(float(row["max"] or 0), 1),
    }


EVENT_COLS = ["position", "event_id", "source", "source_seq", "occurred_at", "recorded_at",
              "worker_id", "actor_user_id", "actor_profile", "action", "outcome", "origin_topic",
              "origin_partition", "origin_offset", "body", "prev_hash", "hash"]  # fmt: skip
ENTRY_COLS = ["position", "event_id", "worker_id", "occurred_at", "source", "actor_user_id",
              "actor_name", "actor_profile", "action", "outcome", "resource_type", "resource_id",
              "part", "purpose", "details"]  # fmt: skip


@contextlib.asynccontextmanager
async def store_held(conn: asyncpg.Connection) -> AsyncIterator[tuple[int, str]]:
    """The store's head (position, hash), with the appenders, the sequencer and the projector
    held off once the projector has caught up: a bulk load then goes in as if it had been
    appended and folded (bulk_load moves the projections' position past it)."""
    while True:
        # The projector's lock first, then the chain's: the order the projector takes them.
        await conn.execute("SELECT pg_advisory_lock($1)", PROJECTOR_LOCK)
        await conn.execute("SELECT pg_advisory_lock($1)", CHAIN_LOCK)
        head = await conn.fetchrow(
            "SELECT position, hash FROM event ORDER BY position DESC LIMIT 1"
        )
        folded = await conn.fetchval(
            "SELECT coalesce(max(position), 0) FROM projection_position WHERE name = 'projections'"
        )
        if head is None or folded >= head["position"]:
            break
        await conn.execute(
            "SELECT pg_advisory_unlock($1), pg_advisory_unlock($2)", CHAIN_LOCK, PROJECTOR_LOCK
        )
        await asyncio.sleep(0.5)
    try:
        yield (head["position"], head["hash"]) if head else (0, GENESIS)
    finally:
        await conn.execute(
            "SELECT pg_advisory_unlock($1), pg_advisory_unlock($2)", CHAIN_LOCK, PROJECTOR_LOCK
        )


async def bulk_load(
    conn: asyncpg.Connection,
    sizes: Sizes,
    chain_from: tuple[int, str] | None = None,
    base: int = 10**12,
) -> tuple[float, float]:
    """COPY sizes.store_events events into the store and the history projection; the seconds
    each took. chain_from=(head position, head hash): real access-event/1 envelopes linked after
    that head, so the store still verifies; otherwise placeholder bodies. base: the first
    event id and source_seq (each scenario loading a store takes its own)."""
    first = chain_from[0] + 1 if chain_from else base
    start = datetime(2020, 1, 1, tzinfo=UTC)
    step = timedelta(seconds=(6 * 365 * 86400) / sizes.store_events)
    rng = random.Random(42)
    names = [(f"staff-{i}", f"Staff Member {i}", rng.choice(["physician", "assistant"]))
             for i in range(300)]  # fmt: skip
    recorded = datetime.now(UTC)
    template = AccessEvent(
        event_id=uuid.UUID(int=base), occurred_at=start, source="records", source_seq=base,
        actor=Actor(user_id="x", username="x", display_name="x", profile="physician"),
        action="read", outcome="success", worker_id="x", resource=Resource(type="record"),
    ).model_dump(mode="json", by_alias=True)  # fmt: skip

    def store_rows() -> Any:
        prev = chain_from[1] if chain_from else "0" * 64
        stamp = format_time(recorded)
        for i in range(sizes.store_events):
            actor = names[i % len(names)]
            worker, when = f"bench-worker-{i % sizes.store_workers}", start + i * step
            body, digest = '{"bench":true}', "0" * 64
            if chain_from:
                envelope = {
                    **template, "event_id": str(uuid.UUID(int=base + i)), "source_seq": base + i,
                    "occurred_at": format_time(when), "worker_id": worker,
                    "actor": {"user_id": actor[0], "username": actor[0],
                              "display_name": actor[1], "profile": actor[2]},
                }  # fmt: skip
                body = canonical_json(envelope)
                digest = link_hash(prev, first + i, stamp, body)
            yield (
                first + i, uuid.UUID(int=base + i), "records", base + i, when, recorded if
                chain_from else when, worker, actor[0], actor[2], "read", "success", None, None,
                None, body, prev if chain_from else "0" * 64, digest,
            )  # fmt: skip
            prev = digest
            if chain_from and i and i % 1_000_000 == 0:
                say(f"  {i:,} events linked")

    def entry_rows() -> Any:
        for i in range(sizes.store_events):
            actor = names[i % len(names)]
            yield (
                first + i, uuid.UUID(int=base + i), f"bench-worker-{i % sizes.store_workers}",
                start + i * step, "records", actor[0], actor[1], actor[2], "read", "success",
                "worker", None, "record", None, None,
            )  # fmt: skip

    say(f"COPY {sizes.store_events:,} events into the store")
    t0 = time.perf_counter()
    await conn.copy_records_to_table("event", records=store_rows(), columns=EVENT_COLS)
    store_s = time.perf_counter() - t0
    say(f"COPY {sizes.store_events:,} entries into the history projection")
    t0 = time.perf_counter()
    await conn.copy_records_to_table("access_entry", records=entry_rows(), columns=ENTRY_COLS)
    entry_s = time.perf_counter() - t0
    if chain_from:
        # Their history entries are in: the projector goes on after them (store_held).
        await conn.execute(
            "INSERT INTO projection_position (name, position, updated_at) "
            "VALUES ('projections', $1, now()) ON CONFLICT (name) DO UPDATE "
            "SET position = EXCLUDED.position, updated_at = EXCLUDED.updated_at",
            first + sizes.store_events - 1,
        )
    say("ANALYZE")
    await conn.execute("ANALYZE event; ANALYZE access_entry")
    return store_s, entry_s


async def history_query(stack: Stack, fx: dict[str, Any], sizes: Sizes) -> dict[str, Any]:
    """Bulk-load the store and the history projection with COPY, let the sequencer add them to
    the Merkle tree, then query one worker (receipts included) and time inclusion proofs."""
    conn = await asyncpg.connect(dsn(stack, "audit"))
    target = f"bench-worker-{sizes.store_workers // 2}"
    try:
        # Real envelopes chained after the store's head, at dense positions, as an appender's
        # would be, with the consumer, the sequencer and the projector held off meanwhile.
        async with store_held(conn) as chain_from:
            store_s, entry_s = await bulk_load(conn, sizes, chain_from=chain_from)
        total = await conn.fetchval("SELECT max(position) FROM event")
        say(f"history: the sequencer adds {sizes.store_events:,} leaves to the Merkle tree")
        t0 = time.perf_counter()
        signed_sql = "SELECT coalesce(max(tree_size), 0) FROM log_checkpoint"
        while (signed := await conn.fetchval(signed_sql)) < total:
            say(f"  tree: {signed:,} of {total:,} leaves signed")
            await asyncio.sleep(2)
        sequencer_s = time.perf_counter() - t0
        # The store took months to grow in production and autovacuum kept up: here it would
        # still be working through ten million fresh rows while the queries are timed.
        t0 = time.perf_counter()
        say("history: VACUUM (ANALYZE) of the loaded tables and a CHECKPOINT before timing")
        for table in ("event", "access_entry", "log_tile"):
            await conn.execute(f"VACUUM (ANALYZE) {table}")
        await conn.execute("CHECKPOINT")
        vacuum_s = time.perf_counter() - t0
        size = await conn.fetchval("SELECT pg_size_pretty(pg_database_size('audit'))")
        tiles = await conn.fetchval("SELECT pg_size_pretty(pg_total_relation_size('log_tile'))")
    finally:
        await conn.close()

    async with httpx.AsyncClient(timeout=30) as http:
        token = await Api(stack, http).login(fx["director"][1], PASSWORD)
        headers = {"Authorization": f"Bearer {token}"}
        url = f"{stack.url('audit')}/access-history/{target}"
        for _ in range(10):
            await http.get(url, params={"limit": 50}, headers=headers)
        say(f"history: {sizes.history_queries} queries for one worker's newest 50 entries")
        first: list[float] = []
        later: list[float] = []
        cursor = None
        proved = 0
        for i in range(sizes.history_queries):
            params: dict[str, Any] = {"limit": 50}
            if i % 4 == 3 and cursor:
                params["cursor"] = cursor
            t0 = time.perf_counter()
            resp = await http.get(url, params=params, headers=headers)
            elapsed = (time.perf_counter() - t0) * 1000
            resp.raise_for_status()
            page = resp.json()
            (later if "cursor" in params else first).append(elapsed)
            cursor = page["next_cursor"]
            assert page["items"], "the target worker has entries"
            proved += sum(1 for item in page["items"] if item["receipt"])
    every = sorted(first + later)
    proofs = await inclusion_timings(stack, int(total), sizes.history_queries * 5)

    def pct(data: list[float], p: float) -> float:
        return round(data[min(len(data) - 1, round(p / 100 * (len(data) - 1)))], 2)

    return {
        "store_events": int(total),
        "entries_for_the_worker": sizes.store_events // sizes.store_workers,
        "audit_database_size": size,
        "log_tile_size": tiles,
        "copy_store_rows_per_s": round(sizes.store_events / store_s),
        "copy_projection_rows_per_s": round(sizes.store_events / entry_s),
        "sequencer_leaves_per_s": round(sizes.store_events / max(sequencer_s, 1e-3)),
        "vacuum_and_checkpoint_s": round(vacuum_s, 1),
        "queries": len(every),
        "entries_with_receipt": proved,
        "latency_ms_p50": pct(every, 50),
        "latency_ms_p99": pct(every, 99),
        "latency_ms_max": round(every[-1], 2),
        "next_page_latency_ms_p50": pct(sorted(later), 50) if later else None,
        "inclusion_proof_ms_p50": pct(proofs, 50),
        "inclusion_proof_ms_p99": pct(proofs, 99),
        "inclusion_proofs": len(proofs),
    }


async def inclusion_timings(stack: Stack, size: int, n: int) -> list[float]:
    """Inclusion proofs of random leaves of the signed tree, each generated from the tiles."""
    engine = create_async_engine(stack.postgres.url("audit"))
    maker = make_sessionmaker(engine)
    rng = random.Random(7)
    timings = []
    try:
        async with maker() as session:
            signed = int(
                (
                    await session.execute(text("SELECT max(tree_size) FROM log_checkpoint"))
                ).scalar_one()
            )
            say(f"history: {n} inclusion proofs in a tree of {signed:,} leaves")
            for _ in range(n):
                index = rng.randrange(min(size, signed))
                t0 = time.perf_counter()
                await inclusion_proof(session, index, signed)
                timings.append((time.perf_counter() - t0) * 1000)
    finally:
        await engine.dispose()
    return sorted(timings)


def verdicts(s: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each target beside its figure."""
    out = {}
    for name, (scenario, key, op, bound) in GOALS.items():
        if scenario in s:
            value = s[scenario][key]
            met = value >= bound if op == ">=" else value <= bound
            out[name] = {"figure": value, "target": TARGETS[name], "met": bool(met)}
    return out


def table(results: dict[str, Any]) -> str:
    """The short table printed at the end."""
    s = results["scenarios"]
    rows = []
    if "raw_limits" in s:
        raw = s["raw_limits"]
        rows += [
            ("broker produce (aiokafka)", f"{raw['broker_produce_msgs_per_s']:,} msg/s", ""),
            ("PostgreSQL COPY", f"{raw['postgres_copy_rows_per_s']:,} rows/s", ""),
            ("empty FastAPI endpoint", f"{raw['noop_endpoint']['throughput_per_s']:,} req/s", ""),
        ]
    if "restart_catch_up" in s:
        rows.append(
            (
                "read in history after broker restart",
                f"{s['restart_catch_up']['restart_catch_up_s']} s",
                "",
            )
        )
    if "reads" in s:
        reads = s["reads"]
        rows += [
            ("record reads, traced", f"{reads['audited_throughput_per_s']:,} req/s", ""),
            ("record reads, tracing off", f"{reads['unaudited_throughput_per_s']:,} req/s", ""),
        ]
    if "restore_drill" in s:
        drill = s["restore_drill"]
        rows += [
            (
                "backup (encrypted)",
                f"{drill['backup_bytes'] / 2**30:.2f} GiB",
                f"{drill['backup_s']} s",
            ),
            ("restore drill (RTO)", f"{drill['rto_s']} s", f"{drill['store_events']:,} events"),
        ]
    for name, v in results["verdicts"].items():
        rows.append(
            (name, str(v["figure"]), f"target {v['target']}: {'met' if v['met'] else 'MISSED'}")
        )
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"  {a:<{width}}  {b:>18}  {c}" for a, b, c in rows)


async def restart_catch_up(stack: Stack, fx: dict[str, Any], sizes: Sizes) -> dict[str, Any]:
    """Restart the broker (a fresh, empty Tansu on the same port; the databases kept), then
    time from a read's answer to its entry in the worker's history (issue 16: was 39-48 s)."""
    worker = fx["workers"][0]
    say("restart catch-up: a fresh broker, then one read until it is in the history")
    stack.broker.kill()
    await asyncio.to_thread(stack.broker.start)
    await stack.broker.create_topics()
    async with httpx.AsyncClient(timeout=30) as http:
        api = Api(stack, http)
        token = await api.login(fx["physician"][1], PASSWORD)
        director = await api.login(fx["director"][1], PASSWORD)
        # The read occurs before its answer: a history filter from the answer's time would
        # never find it.
        asked = datetime.now(UTC)
        resp = await http.get(
            f"{stack.url('records')}/workers/{worker}/record",
            headers={"Authorization": f"Bearer {token}"},
        )
        resp.raise_for_status()
        t0 = time.monotonic()
        while time.monotonic() - t0 < 120:
            page = await http.get(
                f"{stack.url('audit')}/access-history/{worker}",
                params={"from": asked.isoformat().replace("+00:00", "Z"), "action": "read"},
                headers={"Authorization": f"Bearer {director}"},
            )
            if page.status_code == 200 and page.json()["items"]:
                break
            await asyncio.sleep(0.05)
    return {"restart_catch_up_s": round(time.monotonic() - t0, 2)}


async def restore_drill(stack: Stack, fx: dict[str, Any], sizes: Sizes) -> dict[str, Any]:
    """A store the size of the service (252,000 workers, 10 million chained events): an
    encrypted backup, its verified second copy, then the restore drill (RTO)."""
    from pyrage import x25519

    from common.backup import STAMP, BackupSettings, backup, copy_to, load_recipients
    from common.drill import drill

    # The relays and the consumer append on their own: stopped, so the bulk-loaded chain
    # continues the store's head and every count stays still while the dump runs.
    writers = [name for name in stack.children if name not in stack.ports.services]
    for name in writers:
        stack.kill_child(name)
    records = await asyncpg.connect(dsn(stack, "records"))
    try:
        say(f"drill: COPY {sizes.drill_workers:,} workers into records")
        now = datetime.now(UTC)
        workers = (
            (uuid.UUID(int=i + 1), 1, f"First{i}", f"Worker{i}",
             datetime(1960 + i % 45, 1 + i % 12, 1 + i % 28).date(), f"Employer {i % 500}",
             now, now)
            for i in range(sizes.drill_workers)
        )  # fmt: skip
        await records.copy_records_to_table(
            "worker", records=workers, columns=["id", "version", "first_name", "last_name",
                                                "birth_date", "employer", "created_at",
                                                "updated_at"],
        )  # fmt: skip
        worker_count = await records.fetchval("SELECT count(*) FROM worker")
    finally:
        await records.close()
    audit = await asyncpg.connect(dsn(stack, "audit"))
    try:
        async with store_held(audit) as chain_from:
            say(f"drill: {sizes.store_events:,} events chained after position {chain_from[0]}")
            await bulk_load(audit, sizes, chain_from=chain_from, base=2 * 10**12)
        events = await audit.fetchval("SELECT count(*) FROM event")
        db_bytes = {
            r["datname"]: int(r["size"])
            for r in await audit.fetch(
                "SELECT datname, pg_database_size(datname) AS size FROM pg_database "
                "WHERE datname = ANY($1::text[])",
                ["identity", "records", "register", "audit"],
            )
        }
    finally:
        await audit.close()
    say(f"drill: databases {sum(db_bytes.values()) / 2**30:.2f} GiB on disk")

    work = stack.data_dir / "drill"
    work.mkdir(parents=True, exist_ok=True)
    identity = x25519.Identity.generate()
    (work / "backup.pub").write_text(f"{identity.to_public()}\n")
    (work / "backup.key").write_text(f"{identity}\n")
    settings = BackupSettings(key_file=work / "backup.pub")
    target = work / "backups" / datetime.now(UTC).strftime(STAMP)
    say(f"drill: encrypted backup into {target}")
    t0 = time.perf_counter()
    await asyncio.to_thread(
        backup, stack.postgres.port, target, recipients=load_recipients(settings), say=say
    )
    backup_s = time.perf_counter() - t0
    say("drill: second copy, verified")
    t0 = time.perf_counter()
    await asyncio.to_thread(copy_to, target, work / "offsite")
    copy_s = time.perf_counter() - t0
    say("drill: restore drill of the backup")
    figures = await asyncio.to_thread(drill, target, work / "backup.key", work / "restore", 2, say)
    stack.start_children(writers)
    return {
        "workers": int(worker_count),
        "store_events": int(events),
        "database_bytes": db_bytes,
        "database_bytes_total": sum(db_bytes.values()),
        "backup_bytes": figures["backup_bytes"],
        "backup_bytes_by_database": figures["backup_bytes_by_database"],
        "backup_s": round(backup_s, 1),
        "second_copy_s": round(copy_s, 1),
        "rto_s": figures["rto_s"],
        "drill_steps_s": figures["steps_s"],
        "restore_s_by_database": figures["restore_seconds_by_database"],
        "events_verified": figures["events_verified"],
        "rows_restored": figures["rows"],
    }


SCENARIOS = {
    "raw_limits": lambda stack, fx, sizes: raw_limits(stack, sizes),
    "reads": audited_vs_unaudited,
    "pipeline": lambda stack, fx, sizes: pipeline(stack, sizes),
    "drain": lambda stack, fx, sizes: drain(stack, sizes),
    "projection_lag": projection_lag,
    "history_query": history_query,
    "restart_catch_up": restart_catch_up,
    "restore_drill": restore_drill,
}
# The drill restores and re-verifies a 13 GiB store (about 40 minutes): asked for by name only.
DEFAULT_SCENARIOS = [name for name in SCENARIOS if name != "restore_drill"]


async def run(sizes: Sizes, out: Path, keep: bool, quick: bool, only: list[str]) -> dict[str, Any]:
    """Start a private stack, run every scenario, write the results."""
    data = REPO / "bench" / "tmp" / datetime.now().strftime("%Y%m%d-%H%M%S")
    stack = Stack(data, Ports.free(), demo=False, durable=True,
                  admin_password="Bench-Admin-Passw0rd!", say=say)  # fmt: skip
    started = datetime.now(UTC)
    # Taken before the services start: the commit they run, even if HEAD moves during the run.
    host = machine()
    scenarios: dict[str, Any] = {}
    try:
        await stack.start()
        say(f"preparing {sizes.workers} workers with an exam each")
        fx = await prepare(stack, sizes)
        for name in only:
            scenarios[name] = await SCENARIOS[name](stack, fx, sizes)
    finally:
        stack.stop()
        if not keep:
            shutil.rmtree(data, ignore_errors=True)
    results = {
        "machine": host,
        "scenarios_run": only,
        "started_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "quick": quick,
        "sizes": sizes.__dict__,
        "targets": TARGETS,
        "scenarios": scenarios,
    }
    results["verdicts"] = verdicts(scenarios)
    results = merged(out, results)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print("\n" + table(results) + f"\n\nwritten to {out}")
    return results


RUN_KEYS = ("machine", "started_at", "finished_at", "quick", "sizes")


def merged(out: Path, results: dict[str, Any]) -> dict[str, Any]:
    """This run's figures laid over those already in the file, so `--only` never destroys the
    other scenarios' figures. The file's run (machine, commit, sizes) stays the headline the
    README quotes, until a full run replaces it; a scenario from another run than the headline
    names its own run under "run"."""
    try:
        before = json.loads(out.read_text())
    except (OSError, ValueError):
        return results
    old = before.get("scenarios")
    if not isinstance(old, dict) or not old or set(results["scenarios"]) >= set(old):
        return results
    if set(results["scenarios"]) >= set(DEFAULT_SCENARIOS):
        # A full run is the new headline; what it did not run (the drill) keeps its own run.
        run_before = {k: before[k] for k in RUN_KEYS if k in before}
        kept = {
            name: figures if "run" in figures else {**figures, "run": run_before}
            for name, figures in old.items()
            if name not in results["scenarios"]
        }
        scenarios = {**results["scenarios"], **kept}
        return {
            **results,
            "scenarios_run": [n for n in SCENARIOS if n in scenarios],
            "scenarios": scenarios,
            "verdicts": verdicts(scenarios),
        }
    run_of = {k: results[k] for k in RUN_KEYS}
    fresh = {name: {**figures, "run": run_of} for name, figures in results["scenarios"].items()}
    scenarios = {**old, **fresh}
    return {
        **before,
        "scenarios_run": [n for n in SCENARIOS if n in scenarios],
        "targets": TARGETS,
        "scenarios": scenarios,
        "verdicts": verdicts(scenarios),
    }


def main(argv: list[str] | None = None) -> int:
    """CLI entry."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description="Benchmark the audit path on a private stack and write bench/results.json: "
        "traced vs untraced reads, pipeline throughput, projection lag, history queries over "
        "10 million events, the machine's raw limits, and the restore drill (an encrypted "
        "backup of 252,000 workers and 10 million events restored and verified: the RTO).",
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run in ~1 min")
    parser.add_argument("--out", default=str(REPO / "bench" / "results.json"))
    parser.add_argument("--keep", action="store_true", help="keep the stack's data directory")
    parser.add_argument(
        "--only",
        default=",".join(DEFAULT_SCENARIOS),
        help=f"comma-separated scenarios to run, of {', '.join(SCENARIOS)} (default: all but "
        "restore_drill, which takes about 40 minutes at full size)",
    )
    args = parser.parse_args(argv)
    only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(only) - set(SCENARIOS))
    if unknown:
        parser.error(
            f"unknown scenario(s): {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}"
        )
    sizes = Sizes.quick() if args.quick else Sizes.full()
    # `kill` stops the run like Ctrl-C does, so the private stack is stopped on the way out.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        asyncio.run(run(sizes, Path(args.out), args.keep, args.quick, only))
    except KeyboardInterrupt:
        say("interrupted: the private stack is stopped, no results written")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
