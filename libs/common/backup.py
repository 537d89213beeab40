"""Backups: pg_dump of every service database with SHA-256 checksums, and verified restores."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from common.devstack import REPO, SERVICES, Postgres, StackError, pg_bin_dir, port_in_use

MANIFEST = "manifest.json"


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _client(tool: str, port: int, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(pg_bin_dir() / tool), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", *args],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if result.returncode != 0:
        raise StackError(f"{tool} failed: {result.stderr.strip()}")
    return result


def _sql(port: int, sql: str) -> None:
    _client("psql", port, "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-qc", sql)


def backup(port: int, target: Path, databases: tuple[str, ...] = tuple(SERVICES)) -> Path:
    """Dump each database (custom format) into target and write a manifest of checksums."""
    target.mkdir(parents=True, exist_ok=True)
    entries: dict[str, dict[str, object]] = {}
    for db in databases:
        path = target / f"{db}.dump"
        _client("pg_dump", port, "-Fc", "-f", str(path), db)
        digest, size = sha256(path), path.stat().st_size
        entries[db] = {"file": path.name, "sha256": digest, "bytes": size}
        print(f"  {db:<9} {size:>12,} bytes  sha256 {digest[:16]}…")
    manifest = {"created_at": datetime.now(UTC).isoformat(), "databases": entries}
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return target


def verify(source: Path) -> dict[str, dict[str, object]]:
    """Check every dump against the manifest; raise on a missing or altered file."""
    manifest = json.loads((source / MANIFEST).read_text())
    for db, entry in manifest["databases"].items():
        path = source / entry["file"]
        if not path.exists():
            raise StackError(f"{db}: {path} is missing")
        if sha256(path) != entry["sha256"]:
            raise StackError(f"{db}: {path} does not match its checksum; refusing to restore")
    return dict(manifest["databases"])


def restore(port: int, source: Path) -> None:
    """Verify checksums, then recreate each database from its dump."""
    entries = verify(source)
    # Roles are cluster-wide and not in a database dump; the audit grants need theirs.
    _sql(
        port,
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'audit_app') "
        "THEN CREATE ROLE audit_app LOGIN; END IF; END $$",
    )
    for db, entry in entries.items():
        _sql(port, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        _sql(port, f'CREATE DATABASE "{db}"')
        _client("pg_restore", port, "-d", db, "--no-owner", str(source / str(entry["file"])))
        print(f"  {db:<9} restored")


def _ensure_server(port: int, data_dir: Path) -> Postgres | None:
    """Start the local server when it is not running; return it so the caller stops it."""
    if port_in_use(port):
        return None
    server = Postgres(data_dir, port)
    if not (server.pgdata / "PG_VERSION").exists():
        raise StackError(f"no database at {server.pgdata} and nothing listening on port {port}")
    server.start()
    return server


def main(argv: list[str] | None = None) -> int:
    """CLI: make backup / make restore."""
    parser = argparse.ArgumentParser(
        prog="python -m common.backup",
        description="Back up or restore every service database of the local stack "
        "(starts PostgreSQL from .data when it is not running).",
    )
    parser.add_argument("command", choices=["backup", "restore", "verify"])
    parser.add_argument(
        "--dir",
        help="backup folder (default for backup: backups/<UTC time>; for restore: the newest)",
    )
    parser.add_argument("--port", type=int, default=int(os.environ.get("OHS_PG_PORT", 5432)))
    parser.add_argument("--data-dir", default=str(REPO / ".data"))
    args = parser.parse_args(argv)
    root = REPO / "backups"
    try:
        if args.command == "backup":
            target = Path(args.dir or root / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"))
        else:
            candidates = sorted(p for p in root.glob("*") if (p / MANIFEST).exists())
            if not args.dir and not candidates:
                raise StackError("no backup found under backups/; give --dir")
            target = Path(args.dir) if args.dir else candidates[-1]
        if args.command == "verify":
            verify(target)
            print(f"{target}: every checksum matches")
            return 0
        server = _ensure_server(args.port, Path(args.data_dir))
        try:
            if args.command == "backup":
                print(f"backing up to {target}")
                backup(args.port, target)
            else:
                print(f"restoring from {target}")
                restore(args.port, target)
        finally:
            if server is not None:
                server.stop()
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
