"""Alembic, one migration tree per service, driven from code (no alembic.ini needed)."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import subprocess
import sys
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

SERVICES = ("identity", "records", "register", "audit")


def alembic_config(service: str, url: str) -> Config:
    """An Alembic config pointing at the service's migrations folder."""
    package = importlib.import_module(service)
    assert package.__file__ is not None
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(package.__file__).parent / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["service"] = service
    return cfg


def upgrade(service: str, url: str, revision: str = "head") -> None:
    """Apply the service's migrations to the database at url."""
    command.upgrade(alembic_config(service, url), revision)


def run_env(target_metadata: MetaData) -> None:
    """Body of every service's env.py: online, async, one transaction per migration."""
    url = context.config.get_main_option("sqlalchemy.url")
    assert url is not None

    def do_run(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            transaction_per_migration=True,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(do_run)
            await connection.commit()
        await engine.dispose()

    asyncio.run(run())


def main() -> None:
    """CLI: apply migrations for one or all services, reading each service's settings."""
    parser = argparse.ArgumentParser(
        prog="python -m common.migrate",
        description="Apply Alembic migrations using each service's own settings.",
    )
    parser.add_argument(
        "services",
        nargs="*",
        metavar="SERVICE",
        help=f"any of {', '.join(SERVICES)} (default: all)",
    )
    args = parser.parse_args()
    unknown = set(args.services) - set(SERVICES)
    if unknown:
        parser.error(f"unknown service(s): {', '.join(sorted(unknown))}")
    services = args.services or list(SERVICES)
    if len(services) == 1:
        settings = importlib.import_module(f"{services[0]}.settings").Settings()
        upgrade(services[0], settings.migration_url)
        print(f"{services[0]}: migrated")
        return
    # Each service's tables live on SQLModel's one metadata: one process per service keeps
    # same-named tables of different services (each in its own database) apart.
    for service in services:
        subprocess.run([sys.executable, "-m", "common.migrate", service], check=True)


if __name__ == "__main__":
    main()
