"""A small HTTP/1.1 keep-alive load generator on asyncio streams (httpx costs more CPU than
the servers it measures on a 2-core machine)."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class LoadResult:
    """Latencies and counts of one load run."""

    duration: float
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    sent_at: list[tuple[float, str]] = field(default_factory=list)

    @property
    def ok(self) -> int:
        """Responses with a 2xx status."""
        return sum(n for s, n in self.statuses.items() if 200 <= s < 300)

    @property
    def throughput(self) -> float:
        """2xx responses per second."""
        return self.ok / self.duration if self.duration else 0.0

    def percentile(self, p: float) -> float:
        """Latency percentile in milliseconds."""
        if not self.latencies:
            return float("nan")
        data = sorted(self.latencies)
        k = min(len(data) - 1, max(0, round(p / 100 * (len(data) - 1))))
        return data[k] * 1000

    def summary(self) -> dict[str, Any]:
        """Figures for results.json."""
        return {
            "requests_ok": self.ok,
            "errors": self.errors,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "seconds": round(self.duration, 3),
            "throughput_per_s": round(self.throughput, 1),
            "latency_ms_p50": round(self.percentile(50), 2),
            "latency_ms_p99": round(self.percentile(99), 2),
            "latency_ms_mean": round(statistics.fmean(self.latencies) * 1000, 2)
            if self.latencies
            else None,
        }


class Connection:
    """One keep-alive connection."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
        """Send one request and read the whole response."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("closed")
        status = int(status_line.split()[1])
        length, chunked, close = 0, False, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value:
                chunked = True
            elif name == "connection" and "close" in value.lower():
                close = True
        if chunked:
            body = b""
            while True:
                size = int((await self.reader.readline()).strip(), 16)
                if size == 0:
                    await self.reader.readline()
                    break
                body += await self.reader.readexactly(size + 2)
        else:
            body = await self.reader.readexactly(length)
        if close:
            await self.close()
        return status, body

    async def close(self) -> None:
        """Close the socket."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None


async def closed_loop(
    host: str,
    port: int,
    path_for: Callable[[int], str],
    headers_for: Callable[[int], dict[str, str]],
    *,
    concurrency: int,
    seconds: float,
) -> LoadResult:
    """`concurrency` clients, each sending its next request as soon as the last one returned."""
    result = LoadResult(duration=seconds)
    stop_at = time.perf_counter() + seconds
    counter = iter(range(10**12))

    async def client(n: int) -> None:
        conn = Connection(host, port)
        try:
            while time.perf_counter() < stop_at:
                i = next(counter)
                t0 = time.perf_counter()
                try:
                    status, _ = await conn.request("GET", path_for(i), headers_for(n))
                except (OSError, ConnectionError, ValueError, asyncio.IncompleteReadError):
                    result.errors += 1
                    await conn.close()
                    continue
                result.latencies.append(time.perf_counter() - t0)
                result.statuses[status] = result.statuses.get(status, 0) + 1
        finally:
            await conn.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(concurrency)))
    result.duration = time.perf_counter() - t0
    return result


async def open_loop(
    host: str,
    port: int,
    path_for: Callable[[int], str],
    headers: dict[str, str],
    *,
    rate: float,
    seconds: float,
    pool: int = 64,
) -> LoadResult:
    """Requests started at a fixed rate whatever the latency (no coordinated omission)."""
    result = LoadResult(duration=seconds)
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(pool):
        idle.put_nowait(Connection(host, port))
    tasks = []

    async def one(i: int, scheduled: float) -> None:
        conn = await idle.get()
        path = path_for(i)
        result.sent_at.append((time.time(), path))
        try:
            status, _ = await conn.request("GET", path, headers)
            result.latencies.append(time.perf_counter() - scheduled)
            result.statuses[status] = result.statuses.get(status, 0) + 1
        except (OSError, ConnectionError, ValueError, asyncio.IncompleteReadError):
            result.errors += 1
            await conn.close()
        finally:
            idle.put_nowait(conn)

    start = time.perf_counter()
    total = int(rate * seconds)
    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, scheduled)))
    await asyncio.gather(*tasks)
    result.duration = time.perf_counter() - start
    while not idle.empty():
        await idle.get_nowait().close()
    return result
