"""Fault injection under a steady load of reads: nothing served is ever untraced.

Shortened in `make test`; `make fault-test` runs it in full (OHS_FAULT_FULL=1: a 30 s broker
outage and a longer load).
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from common.devstack import Stack
from tests.helpers import Account, eventually, login, make_user, private_stack

pytestmark = [pytest.mark.asyncio, pytest.mark.fault]
FULL = os.environ.get("OHS_FAULT_FULL") == "1"
BROKER_OUTAGE = 30.0 if FULL else 8.0
WORKERS = 40 if FULL else 12
RATE = 40.0 if FULL else 20.0


@pytest.fixture(scope="module")
async def own_stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    """A stack of its own: this test kills its parts."""
    async with private_stack(
        Path(tmp_path_factory.mktemp("fault")), "Fault", durable=True
    ) as stack:
        yield stack


@dataclass
class Load:
    """Reads at a steady rate; remembers every answer."""

    stack: Stack
    reader: Account
    workers: list[str]
    served: Counter[str] = field(default_factory=Counter)
    # Reads answered with an error, per worker: one whose commit was durable but whose
    # acknowledgement died with PostgreSQL is traced and not served (allowed; the reverse never).
    refused: Counter[str] = field(default_factory=Counter)
    failures: Counter[int] = field(default_factory=Counter)
    timeline: list[tuple[float, int]] = field(default_factory=list)
    stopping: bool = False

    async def run(self) -> None:
        async with httpx.AsyncClient(timeout=10) as http:
            token_at = time.monotonic()
            rng = random.Random(1)
            while not self.stopping:
                if time.monotonic() - token_at > 120:
                    tokens = await login(
                        http, self.stack, self.reader.username, self.reader.password
                    )
                    self.reader.token = tokens["access_token"]
                    token_at = time.monotonic()
                worker = rng.choice(self.workers)
                try:
                    resp = await http.get(
                        f"{self.stack.url('records')}/workers/{worker}/record",
                        headers=self.reader.headers,
                    )
                    status = resp.status_code
                except httpx.HTTPError:
                    status = 0
                self.timeline.append((time.monotonic(), status))
                if status == 200:
                    self.served[worker] += 1
                else:
                    self.failures[status] += 1
                    self.refused[worker] += 1
                await asyncio.sleep(1 / RATE)

    def served_between(self, start: float, end: float) -> int:
        return sum(1 for t, s in self.timeline if start <= t <= end and s == 200)


async def history_reads(
    http: httpx.AsyncClient, stack: Stack, director: Account, worker: str, reader: Account
) -> int:
    """How many record reads by `reader` the worker's access history lists."""
    count, cursor = 0, None
    while True:
        params = {"action": "read", "limit": 200, **({"cursor": cursor} if cursor else {})}
        resp = await http.get(
            f"{stack.url('audit')}/access-history/{worker}", params=params, headers=director.headers
        )
        assert resp.status_code == 200, resp.text
        page = resp.json()
        count += sum(
            1
            for e in page["items"]
            if e["actor_name"] == reader.display_name and (e.get("part") or "") == "record"
        )
        cursor = page["next_cursor"]
        if not cursor:
            return count


class TestNothingServedIsUntraced:
    async def test_faults_lose_no_trace(self, own_stack: Stack):
        stack = own_stack
        async with httpx.AsyncClient(timeout=30) as http:
            physician = await make_user(http, stack, "physician")
            director = await make_user(http, stack, "medical_director")
            workers = []
            for i in range(WORKERS):
                resp = await http.post(
                    f"{stack.url('records')}/workers",
                    json={"first_name": f"Fault{i}", "last_name": "Tester",
                          "birth_date": "1980-01-01", "employer": "Fault Test Ltd"},
                    headers=physician.headers,
                )  # fmt: skip
                assert resp.status_code == 201, resp.text
                workers.append(resp.json()["id"])

            load = Load(stack, physician, workers)
            task = asyncio.create_task(load.run())
            try:
                await asyncio.sleep(3)

                outage_start = time.monotonic()
                stack.broker.kill()
                await asyncio.sleep(BROKER_OUTAGE)
                outage_end = time.monotonic()
                stack.broker.start()
                await stack.broker.create_topics()
                await asyncio.sleep(4)

                stack.kill_child("audit-consumer")
                await asyncio.sleep(1)
                stack.start_children(["audit-consumer"])
                await asyncio.sleep(4)

                stack.kill_child("audit-projector")
                await asyncio.sleep(1)
                stack.start_children(["audit-projector"])
                await asyncio.sleep(4)

                stack.kill_child("records-relay")
                await asyncio.sleep(1)
                stack.start_children(["records-relay"])
                await asyncio.sleep(4)

                await asyncio.to_thread(stack.postgres.stop)
                await asyncio.to_thread(stack.postgres.start)
                await asyncio.sleep(5)
            finally:
                load.stopping = True
                await task

            assert load.served_between(outage_start, outage_end) > 0, "reads during the outage"
            assert sum(load.served.values()) > 0

            # Tokens are short-lived; the wait below can outlast them.
            director.token = (await login(http, stack, director.username, director.password))[
                "access_token"
            ]

            async def traced() -> bool | str:
                """Every served read traced; a trace more only for a read refused with an error."""
                for worker in workers:
                    got = await history_reads(http, stack, director, worker, physician)
                    served, refused = load.served[worker], load.refused[worker]
                    if not served <= got <= served + refused:
                        return f"{worker}: {got} traced, {served} served, {refused} refused"
                return True

            async def all_traced() -> bool:
                return await traced() is True

            try:
                await eventually(all_traced, timeout=180 if FULL else 120, interval=2)
            except AssertionError:
                raise AssertionError(await traced()) from None

            resp = await http.get(f"{stack.url('audit')}/integrity", headers=director.headers)
            assert resp.status_code == 200, resp.text
            assert resp.json()["ok"] is True, resp.json()
