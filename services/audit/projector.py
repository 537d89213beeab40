"""The projector: `python -m audit.projector` folds the store into the projections, hashes
new events into the tree and signs the checkpoints.

A process of its own beside the consumers (AUDIT_PROJECTOR_PROCESS=true for both): the fold is
Python work per event, and in the consumer it shared one event loop, so one core, with the
parsing and appending of the next batch. The checkpoint key then lives here only, not in the
process that parses what the broker delivers. Several projectors may run; transaction locks
let one fold and one integrate at a time, each from where the database says.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal

import asyncpg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audit.core.bounds import QuietActors
from audit.core.models import RuleSettings, StoredEvent
from audit.log.sequencer import Sequencer
from audit.projections.service import project
from audit.settings import Settings
from audit.store.service import APPENDED_CHANNEL, Signer, checkpoint, checkpoint_private_key
from common.db import make_engine, make_sessionmaker
from common.runtime import settle_heap, yield_cpu
from common.signing import SigningKeyError

log = logging.getLogger("ohs.audit.projector")


async def fold_until(
    maker: async_sessionmaker[AsyncSession],
    rules: RuleSettings,
    limit: int,
    stop: asyncio.Event,
    appended: asyncio.Event,
    known: dict[int, StoredEvent] | None = None,
    idle_seconds: float = 0.2,
) -> int:
    """Fold until stop is set; when caught up, wait for `appended` or `idle_seconds`."""
    total = 0
    quiet = QuietActors()
    while not stop.is_set():
        appended.clear()
        try:
            async with maker() as session, session.begin():
                moved = await project(session, rules, limit, known, quiet)
        except Exception:
            log.exception("projector failed; retrying in 1s")
            moved = 0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1)
        total += moved
        if moved < limit:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(appended.wait(), idle_seconds)
    return total


class Wakeup:
    """LISTEN on a channel: the store's appends (write() notifies in its transaction, so at
    commit), or the audit service's pending drafts (a trigger notifies)."""

    def __init__(
        self, database_url: str, appended: asyncio.Event, channel: str = APPENDED_CHANNEL
    ) -> None:
        self.dsn = database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
        self.appended = appended
        self.channel = channel
        self.connection: asyncpg.Connection | None = None

    async def ensure(self) -> None:
        """Listen if not listening (a lost connection means polling until it is back)."""
        if self.connection is not None and not self.connection.is_closed():
            return
        await self.close()
        try:
            self.connection = await asyncpg.connect(self.dsn)
            await self.connection.add_listener(self.channel, self._notified)
        except Exception as exc:
            # Any failure (refused, reset, a connection lost while listening) means polling.
            log.warning("not listening on %s (%s): polling", self.channel, exc)
            await self.close()
        else:
            # What was committed before the LISTEN is looked for at once.
            self.appended.set()

    def _notified(self, *_: object) -> None:
        self.appended.set()

    async def close(self) -> None:
        """Stop listening."""
        connection, self.connection = self.connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()


async def keep_listening(wakeup: Wakeup, stop: asyncio.Event, every: float) -> None:
    """Listen until stop is set, trying again every `every` seconds while the connection is lost."""
    while not stop.is_set():
        await wakeup.ensure()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)


async def sign_chain_head(
    maker: async_sessionmaker[AsyncSession], key: Ed25519PrivateKey, signer: Signer | None
) -> Signer:
    """Sign the hash chain's head when it moved; returns the signer (loaded once)."""
    async with maker() as session, session.begin():
        if signer is None:
            signer = await Signer.load(session, key)
        await checkpoint(session, signer)
    return signer


async def _chain_checkpoints(
    maker: async_sessionmaker[AsyncSession],
    key: Ed25519PrivateKey,
    every: float,
    stop: asyncio.Event,
) -> None:
    signer = None
    while not stop.is_set():
        try:
            signer = await sign_chain_head(maker, key, signer)
        except Exception:
            log.exception("chain checkpoint failed; trying again")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)


def worker_start() -> asyncio.Event:
    """Logging for an audit worker process, and an event set by SIGINT or SIGTERM."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settle_heap()
    yield_cpu()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def _main() -> None:
    stop = worker_start()
    try:
        settings = Settings()
        key = checkpoint_private_key(settings)
    except (SigningKeyError, ValidationError) as exc:
        raise SystemExit(f"audit projector: {exc}") from None
    engine = make_engine(settings.database_url, pool_size=4, batches=True)
    maker = make_sessionmaker(engine)
    appended = asyncio.Event()
    wakeup = Wakeup(settings.database_url, appended)
    sequencer = Sequencer(maker, key, settings.log_origin, settings.log_checkpoint_seconds)
    helpers = [
        asyncio.create_task(keep_listening(wakeup, stop, 2.0)),
        asyncio.create_task(sequencer.run(stop)),
        asyncio.create_task(_chain_checkpoints(maker, key, settings.checkpoint_seconds, stop)),
    ]
    log.info("audit projector folding the store (batches of %d)", settings.projector_batch_size)
    try:
        total = await fold_until(
            maker,
            settings.rules(),
            settings.projector_batch_size,
            stop,
            appended,
            idle_seconds=settings.projector_poll_seconds,
        )
    finally:
        stop.set()
        await asyncio.gather(*helpers, return_exceptions=True)
        await wakeup.close()
        await engine.dispose()
    log.info("audit projector stopped: %d projected", total)


def main(argv: list[str] | None = None) -> None:
    """Run the audit projector until SIGTERM."""
    argparse.ArgumentParser(
        prog="python -m audit.projector",
        description="Fold the audit event store into the projections (access histories, "
        "actors, alerts, sequence gaps), hash new events into the Merkle tree and sign its "
        "checkpoints and the chain's, until SIGTERM, woken by every append. Settings come from "
        "the environment like the consumer's (AUDIT_DATABASE_URL, AUDIT_CHECKPOINT_KEY_FILE, "
        "AUDIT_PROJECTOR_BATCH_SIZE, AUDIT_PROJECTOR_POLL_SECONDS); run it beside consumers "
        "started with AUDIT_PROJECTOR_PROCESS=true. Several may run: one folds at a time.",
    ).parse_args(argv)
    asyncio.run(_main())


if __name__ == "__main__":
    main()
