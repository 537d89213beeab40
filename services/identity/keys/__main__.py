"""CLI: `python -m identity.keys rotate` starts signing with a new key."""

from __future__ import annotations

import argparse
import asyncio

from common.db import make_engine, make_sessionmaker
from common.events import EventDraft, Resource
from common.outbox import record_events
from identity.keys import service
from identity.settings import Settings
from identity.trail import SOURCE


async def _rotate() -> str:
    settings = Settings()
    engine = make_engine(settings.database_url, 1)
    try:
        async with make_sessionmaker(engine)() as session:
            key = await service.rotate(session, settings)
            draft = EventDraft(
                source=SOURCE,
                actor=None,
                action="key_rotated",
                resource=Resource(type="signing_key", id=key.kid),
                details={"kid": key.kid, "via": "cli"},
            )
            await record_events(session, [draft])
            await session.commit()
            return key.kid
    finally:
        await engine.dispose()


def main() -> None:
    """Parse the command line and run it."""
    parser = argparse.ArgumentParser(
        prog="python -m identity.keys",
        description="Manage identity's token signing keys (kept in the identity database).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("rotate", help="sign new tokens with a new key; old keys stay published")
    parser.parse_args()
    print(f"new signing key: {asyncio.run(_rotate())}")


if __name__ == "__main__":
    main()
