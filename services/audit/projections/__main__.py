"""`python -m audit.projections rebuild`: replay the store into the projections."""

from __future__ import annotations

import argparse
import asyncio
import time

from audit.projections.service import rebuild
from audit.settings import Settings
from common.db import make_engine, make_sessionmaker


async def _rebuild() -> int:
    settings = Settings()
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            return await rebuild(session, settings.rules())
    finally:
        await engine.dispose()


def main() -> None:
    """CLI entry."""
    parser = argparse.ArgumentParser(
        prog="python -m audit.projections",
        description="Maintain the audit projections (histories, actor activity, alerts, gaps).",
    )
    parser.add_argument("command", choices=["rebuild"], help="replay the whole event store")
    parser.parse_args()
    started = time.perf_counter()
    count = asyncio.run(_rebuild())
    print(f"audit projections rebuilt from {count} events in {time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    main()
