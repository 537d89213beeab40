"""`make restore-drill`: restore the newest backup into a fresh private PostgreSQL and prove it.

The drill verifies the checksums, decrypts, restores every database, compares the row count of
every table with the counts the manifest recorded in the dump's own snapshot, re-verifies the
audit store's hash chain and signed checkpoints with audit's own `verify`, and prints the
recovery time it measured (RTO): from the first byte read to the verified store.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from common.backup import (
    BackupSettings,
    _in_thread,
    load_identities,
    newest,
    read_manifest,
    restore,
    verify,
)
from common.devstack import Postgres, StackError, free_port

Say = Callable[[str], None]


def say(text: str) -> None:
    """Progress on the terminal."""
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {text}", flush=True)


@contextmanager
def ticking(label: str, out: Say, every: float = 15.0, probe: Callable[[], str] | None = None
            ) -> Iterator[None]:  # fmt: skip
    """Say `label` with the elapsed time (and the probe's text) every few seconds until done."""
    done = threading.Event()
    t0 = time.monotonic()

    def tick() -> None:
        while not done.wait(every):
            extra = ""
            if probe is not None:
                try:
                    extra = f", {probe()}"
                except StackError:
                    extra = ""
            out(f"  … {label}: {time.monotonic() - t0:.0f} s{extra}")

    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def restored_rows(server: Postgres, db: str) -> dict[str, int]:
    """Exact row count of every table of a restored database."""
    tables = server.psql(
        "SELECT schemaname || '.' || tablename FROM pg_tables WHERE schemaname NOT IN "
        "('pg_catalog', 'information_schema') ORDER BY 1",
        db,
    ).split()
    counts = {}
    for name in tables:
        schema, _, table = name.partition(".")
        sql = f'SELECT count(*) FROM "{schema}"."{table}"'  # noqa: S608 - catalog names, quoted
        counts[name] = int(server.psql(sql, db))
    return counts


async def _verify_audit(url: str) -> Any:
    from sqlalchemy.ext.asyncio import create_async_engine

    from audit.log.service import verify_all
    from common.db import make_sessionmaker

    engine = create_async_engine(url)
    try:
        async with make_sessionmaker(engine)() as session:
            return await verify_all(session)
    finally:
        await engine.dispose()


def drill(
    source: Path,
    identity_file: Path | None = None,
    work: Path | None = None,
    jobs: int = 2,
    out: Say = say,
) -> dict[str, Any]:
    """Restore `source` into a fresh server and verify it; the figures of the run."""
    started = time.monotonic()
    steps: dict[str, float] = {}

    def step(name: str, t0: float) -> None:
        steps[name] = round(time.monotonic() - t0, 2)

    manifest = read_manifest(source)
    entries = manifest["databases"]
    stored = sum(int(e["bytes"]) for e in entries.values())
    out(f"restore drill of {source} ({len(entries)} databases, {stored:,} bytes stored)")
    keys = load_identities(identity_file) if manifest.get("encryption") else None

    t0 = time.monotonic()
    out("1/5 checksums of the stored files")
    verify(source)
    step("checksums", t0)

    root = Path(work) if work else Path(tempfile.mkdtemp(prefix="ohs-drill-"))
    server = Postgres(root / "pg", free_port())
    try:
        t0 = time.monotonic()
        out(f"2/5 a fresh PostgreSQL on port {server.port} ({server.data_dir})")
        server.start()
        step("fresh_server", t0)

        t0 = time.monotonic()
        out("3/5 decrypt and restore every database")

        def size() -> str:
            total = server.psql(
                "SELECT pg_size_pretty(sum(pg_database_size(datname))) FROM pg_database"
            )
            return f"restored so far {total.strip()}"

        with ticking("restoring", out, probe=size):
            per_db = restore(server.port, source, keys, jobs=jobs, say=out)
        step("restore", t0)

        t0 = time.monotonic()
        out("4/5 row counts against the manifest (counted in the dump's snapshot)")
        rows: dict[str, int] = {}
        sizes: dict[str, int] = {}
        for db, entry in entries.items():
            expected = entry.get("rows")
            if expected is None:
                raise StackError(f"{db}: the manifest records no row counts (an old backup)")
            got = restored_rows(server, db)
            wrong = {
                t: (expected.get(t), got.get(t))
                for t in set(expected) | set(got)
                if expected.get(t) != got.get(t)
            }
            if wrong:
                shown = ", ".join(f"{t}: {a} expected, {b} restored" for t, (a, b) in wrong.items())
                raise StackError(f"{db}: row counts differ from the backup: {shown}")
            rows[db] = sum(got.values())
            sizes[db] = int(server.psql(f"SELECT pg_database_size('{db}')"))
            out(f"  {db:<9} {len(got)} tables, {rows[db]:,} rows: as recorded")
        step("row_counts", t0)

        t0 = time.monotonic()
        report = None
        if "audit" in entries:
            out("5/5 the audit store's integrity (hash chain, Merkle tree, signed checkpoints)")
            with ticking("verifying the chain and the tree", out):
                report, tree = _in_thread(lambda: _verify_audit(server.url("audit")))
            if not report.ok:
                where = report.first_broken
                raise StackError(
                    f"the restored audit store does not verify: {report.checkpoint_problem or ''}"
                    f" {where}"
                )
            if not tree.ok:
                raise StackError(f"the restored audit log does not verify: {tree.problem}")
            out(
                f"  {report.events_checked:,} events, {report.checkpoints_checked} checkpoints: "
                f"intact (head {report.head_position}, {report.head_hash[:16]}…); tree of "
                f"{tree.tree_size:,} leaves, {tree.checkpoints_checked} signed tree heads: intact"
            )
        step("audit_integrity", t0)
        rto = round(time.monotonic() - started, 2)
    finally:
        server.stop()
        if work is None:
            shutil.rmtree(root, ignore_errors=True)
    out(f"restore drill passed: recovery time (RTO) {rto:.1f} s")
    return {
        "backup": source.name,
        "backup_created_at": manifest.get("created_at"),
        "encrypted": bool(manifest.get("encryption")),
        "backup_bytes": stored,
        "backup_bytes_by_database": {db: int(e["bytes"]) for db, e in entries.items()},
        "restored_database_bytes": sizes,
        "rows": rows,
        "restore_seconds_by_database": per_db,
        "events_verified": report.events_checked if report else 0,
        "steps_s": steps,
        "rto_s": rto,
    }


def main(argv: list[str] | None = None) -> int:
    """CLI: make restore-drill."""
    parser = argparse.ArgumentParser(
        prog="python -m common.drill",
        description="Restore drill: take the newest backup (or --dir), verify its checksums, "
        "decrypt it with the age identity, restore every database into a fresh private "
        "PostgreSQL (nothing running is touched), compare every table's row count with the "
        "manifest, re-verify the audit store's hash chain and checkpoints, and print the "
        "measured recovery time (RTO). Exit status 0 only when everything matched.",
        epilog="Settings: OHS_BACKUP_DIR (where backups are), OHS_BACKUP_IDENTITY_FILE (the age "
        "secret key, AGE-SECRET-KEY-...). Example: OHS_BACKUP_IDENTITY_FILE=/secure/backup.key "
        "make restore-drill",
    )
    parser.add_argument("--dir", help="the backup folder (default: newest under OHS_BACKUP_DIR)")
    parser.add_argument("--identity-file", help="age secret key (default OHS_BACKUP_IDENTITY_FILE)")
    parser.add_argument("--jobs", type=int, default=2, help="parallel pg_restore jobs (default 2)")
    parser.add_argument("--work-dir", help="where the fresh server lives (default: a temp dir)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    try:
        try:
            settings = BackupSettings()
        except ValueError as exc:
            raise StackError(str(exc)) from exc
        source = Path(args.dir) if args.dir else newest(settings.dir)
        identity = args.identity_file or settings.identity_file
        figures = drill(
            source,
            Path(identity) if identity else None,
            Path(args.work_dir) if args.work_dir else None,
            jobs=args.jobs,
        )
    except StackError as exc:
        print(f"error: restore drill FAILED: {exc}", file=sys.stderr)
        return 2
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
