"""The sequencer: hashes newly stored events into the tree and signs a checkpoint each round."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audit.log.service import integrate
from audit.store.service import Signer

log = logging.getLogger("ohs.audit.sequencer")


class Sequencer:
    """Runs in the projector process (or each consumer); the tree's lock lets one integrate."""

    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        private: Ed25519PrivateKey,
        origin: str,
        interval: float,
        batch: int = 20_000,
    ) -> None:
        self.maker = maker
        self.private = private
        self.origin = origin
        self.interval = interval
        self.batch = batch
        self.signer: Signer | None = None
        self.integrated = 0

    async def round(self) -> int:
        """Integrate until the tree holds every stored event; the leaves added."""
        added = 0
        while True:
            async with self.maker() as session, session.begin():
                if self.signer is None:
                    self.signer = await Signer.load(session, self.private)
                done = await integrate(session, self.signer, self.origin, self.batch)
            added += done.leaves
            if done.leaves < self.batch:
                break
        self.integrated += added
        return added

    async def run(self, stop: asyncio.Event) -> None:
        """A round at least every `interval` seconds until stop is set."""
        while not stop.is_set():
            started = time.monotonic()
            try:
                await self.round()
            except (OSError, OperationalError, DBAPIError) as exc:
                log.warning("sequencer: %s; trying again", exc)
            except Exception:
                log.exception("sequencer round failed; trying again")
            pause = max(0.05, self.interval - (time.monotonic() - started))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)
