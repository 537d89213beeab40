"""Backups: pg_dump of every service database, encrypted with age, checksummed, rotated, copied.

One backup is a folder `<UTC time>/` holding one dump per database (`<db>.dump.age`, or
`<db>.dump` in development without a key) and `manifest.json`: for each dump the SHA-256 of the
stored file and of the plain dump, their sizes, and the row count of every table, counted in the
very snapshot pg_dump exported, so a restore can prove it got every row back.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal, TypeVar

import asyncpg
import pyrage
from croniter import croniter
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pyrage import x25519

from common.devstack import REPO, SERVICES, Postgres, StackError, pg_bin_dir, port_in_use

MANIFEST = "manifest.json"
STAMP = "%Y%m%dT%H%M%SZ"
T = TypeVar("T")
Say = Callable[[str], None]


class BackupSettings(BaseSettings):
    """The backup job's settings (prefix OHS_BACKUP_); compose's `backup` service sets them."""

    model_config = SettingsConfigDict(
        env_prefix="OHS_BACKUP_", env_file=None, extra="ignore", frozen=True, populate_by_name=True
    )

    environment: Literal["development", "test", "production"] = Field(
        default="development", validation_alias="OHS_ENVIRONMENT"
    )
    pg_host: str = "127.0.0.1"
    pg_port: int = Field(default=5432, validation_alias="OHS_PG_PORT")
    pg_user: str = "postgres"
    pg_password: SecretStr | None = None
    dir: Path = REPO / "backups"
    # age recipients (public keys, `age1...`, one per line): all a backup host needs.
    key_file: Path | None = None
    # The age identity (secret key) that opens them: only restores and drills need it.
    identity_file: Path | None = None
    copy_dir: Path | None = None
    schedule: str = "30 2 * * *"
    keep_daily: int = Field(default=7, ge=0)
    keep_weekly: int = Field(default=4, ge=0)
    keep_monthly: int = Field(default=12, ge=0)

    @field_validator("schedule")
    @classmethod
    def _cron_line(cls, value: str) -> str:
        if not croniter.is_valid(value):
            raise ValueError(f"OHS_BACKUP_SCHEDULE={value!r} is not a cron line (m h dom mon dow)")
        return value


@dataclass(frozen=True)
class Pg:
    """Where the server to back up or restore into listens, and as whom to connect."""

    port: int
    host: str = "127.0.0.1"
    user: str = "postgres"
    password: str | None = None

    @classmethod
    def of(cls, settings: BackupSettings) -> Pg:
        """The server named by the settings."""
        secret = settings.pg_password
        return cls(
            settings.pg_port,
            settings.pg_host,
            settings.pg_user,
            secret.get_secret_value() if secret else None,
        )

    def env(self) -> dict[str, str]:
        """Environment for the PostgreSQL client tools (the password never on a command line)."""
        env = dict(os.environ)
        if self.password:
            env["PGPASSWORD"] = self.password
        return env

    def args(self) -> list[str]:
        """Connection arguments of the client tools."""
        return ["-h", self.host, "-p", str(self.port), "-U", self.user]


def _pg(server: int | Pg) -> Pg:
    return server if isinstance(server, Pg) else Pg(server)


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class _Hashing(io.RawIOBase):
    """A stream that counts and hashes what goes through it (read or written)."""

    def __init__(self, inner: IO[bytes]) -> None:
        self.inner = inner
        self.digest = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.inner.read(len(buffer))
        self.digest.update(data)
        self.size += len(data)
        buffer[: len(data)] = data
        return len(data)

    def write(self, data: Any) -> int:
        self.digest.update(data)
        self.size += len(data)
        self.inner.write(data)
        return len(data)


def _in_thread(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    # Callers may already run an event loop (the tests, the bench): a loop of our own, apart.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def load_recipients(settings: BackupSettings) -> list[x25519.Recipient] | None:
    """The age public keys to encrypt to; None (plain dumps) only outside production."""
    path = settings.key_file
    if path is None:
        if settings.environment == "production":
            raise StackError(
                "refusing to back up: OHS_BACKUP_KEY_FILE is not set, and a production backup "
                "must be encrypted. Give a file holding the age public key(s) (age1...) that "
                "the backups are encrypted to (README, Operations: backup keys)."
            )
        return None
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise StackError(f"OHS_BACKUP_KEY_FILE={path}: cannot read it ({exc.strerror})") from exc
    keys = []
    for n, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("AGE-SECRET-KEY-"):
            raise StackError(
                f"OHS_BACKUP_KEY_FILE={path} line {n} is a secret key: give its public key "
                "(age1..., `age-keygen -y`); the backup host never needs the secret one"
            )
        try:
            keys.append(x25519.Recipient.from_str(line))
        except pyrage.RecipientError as exc:
            raise StackError(
                f"OHS_BACKUP_KEY_FILE={path} line {n} is not an age public key: {exc}"
            ) from exc
    if not keys:
        raise StackError(f"OHS_BACKUP_KEY_FILE={path} holds no age public key")
    return keys


def load_identities(path: Path | None) -> list[x25519.Identity]:
    """The age secret keys of an identity file (comments and blank lines skipped)."""
    if path is None:
        raise StackError(
            "this backup is encrypted: set OHS_BACKUP_IDENTITY_FILE (or --identity-file) to the "
            "file holding its age secret key (AGE-SECRET-KEY-...)"
        )
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise StackError(f"identity file {path}: cannot read it ({exc.strerror})") from exc
    keys = []
    for n, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            keys.append(x25519.Identity.from_str(line))
        except pyrage.IdentityError as exc:
            raise StackError(f"identity file {path} line {n} is not an age secret key") from exc
    if not keys:
        raise StackError(f"identity file {path} holds no age secret key")
    return keys


def _dump_file(
    pg: Pg, db: str, snapshot: str, dest: Path, recipients: list[x25519.Recipient] | None
) -> tuple[str, int]:
    """pg_dump one database from an exported snapshot straight into its (encrypted) file."""
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(
            [str(pg_bin_dir() / "pg_dump"), *pg.args(), "-Fc", f"--snapshot={snapshot}", db],
            stdout=subprocess.PIPE, stderr=errors, env=pg.env(),
        )  # fmt: skip
        assert proc.stdout is not None
        plain = _Hashing(proc.stdout)
        try:
            with dest.open("wb") as out:
                if recipients:
                    # Streamed: the plain dump never touches the disk.
                    pyrage.encrypt_io(plain, out, recipients)
                else:
                    shutil.copyfileobj(plain, out, 1 << 20)
        finally:
            code = proc.wait()
        if code != 0:
            errors.seek(0)
            dest.unlink(missing_ok=True)
            raise StackError(f"pg_dump {db} failed: {errors.read().decode().strip()}")
    return plain.digest.hexdigest(), plain.size


async def _dump(
    pg: Pg, db: str, dest: Path, recipients: list[x25519.Recipient] | None
) -> dict[str, Any]:
    conn = await asyncpg.connect(
        host=pg.host, port=pg.port, user=pg.user, password=pg.password, database=db
    )
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            snapshot = await conn.fetchval("SELECT pg_export_snapshot()")
            dumping = asyncio.ensure_future(
                asyncio.to_thread(_dump_file, pg, db, snapshot, dest, recipients)
            )
            tables = await conn.fetch(
                "SELECT schemaname, tablename FROM pg_tables WHERE schemaname NOT IN "
                "('pg_catalog', 'information_schema') ORDER BY 1, 2"
            )
            rows = {}
            for t in tables:
                name = f"{t['schemaname']}.{t['tablename']}"
                # Identifiers from the catalog, quoted.
                sql = f'SELECT count(*) FROM "{t["schemaname"]}"."{t["tablename"]}"'  # noqa: S608
                rows[name] = await conn.fetchval(sql)
            plain_sha, plain_bytes = await dumping
    finally:
        await conn.close()
    return {"plain_sha256": plain_sha, "plain_bytes": plain_bytes, "rows": rows}


def backup(
    server: int | Pg,
    target: Path,
    databases: tuple[str, ...] = tuple(SERVICES),
    recipients: list[x25519.Recipient] | None = None,
    say: Say = print,
) -> Path:
    """Dump each database (custom format, age-encrypted when recipients are given) into target,
    with the row counts of its snapshot, and write the manifest last."""
    pg = _pg(server)
    target.mkdir(parents=True, exist_ok=True)
    entries: dict[str, dict[str, object]] = {}
    for db in databases:
        path = target / (f"{db}.dump.age" if recipients else f"{db}.dump")
        facts = _in_thread(functools.partial(_dump, pg, db, path, recipients))
        digest, size = sha256(path), path.stat().st_size
        entries[db] = {"file": path.name, "sha256": digest, "bytes": size, **facts}
        total = sum(facts["rows"].values())
        say(f"  {db:<9} {size:>14,} bytes  {total:>11,} rows  sha256 {digest[:16]}…")
    manifest = {
        "format": 2,
        "created_at": datetime.now(UTC).isoformat(),
        "encryption": "age-x25519" if recipients else None,
        "recipients": [str(r) for r in recipients or []],
        "databases": entries,
    }
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return target


def read_manifest(source: Path) -> dict[str, Any]:
    """The manifest of a backup folder."""
    try:
        return dict(json.loads((source / MANIFEST).read_text()))
    except OSError as exc:
        raise StackError(f"{source}: no readable {MANIFEST} ({exc.strerror})") from exc
    except ValueError as exc:
        raise StackError(f"{source / MANIFEST} is not valid JSON") from exc


def verify(source: Path) -> dict[str, dict[str, Any]]:
    """Check every stored dump against the manifest; raise on a missing or altered file."""
    manifest = read_manifest(source)
    for db, entry in manifest["databases"].items():
        path = source / entry["file"]
        if not path.exists():
            raise StackError(f"{db}: {path} is missing")
        if sha256(path) != entry["sha256"]:
            raise StackError(f"{db}: {path} does not match its checksum; refusing to restore")
    return dict(manifest["databases"])


def _plain_dump(
    source: Path, db: str, entry: dict[str, Any], identities: list[x25519.Identity] | None,
    work: Path,
) -> Path:  # fmt: skip
    """The plain dump of one entry: the file itself, or its decryption checked against the
    plain checksum recorded at backup time."""
    stored = source / entry["file"]
    if not entry["file"].endswith(".age"):
        return stored
    if not identities:
        raise StackError(
            f"{db}: {stored.name} is encrypted: give the age identity file "
            "(OHS_BACKUP_IDENTITY_FILE or --identity-file)"
        )
    out = work / f"{db}.dump"
    try:
        with stored.open("rb") as src, out.open("wb") as dst:
            plain = _Hashing(dst)
            pyrage.decrypt_io(src, plain, identities)
    except pyrage.DecryptError as exc:
        out.unlink(missing_ok=True)
        raise StackError(
            f"{db}: {stored.name} cannot be decrypted with the given identity ({exc}): "
            "wrong key? refusing to restore"
        ) from exc
    if plain.digest.hexdigest() != entry.get("plain_sha256", plain.digest.hexdigest()):
        out.unlink(missing_ok=True)
        raise StackError(f"{db}: the decrypted dump does not match its checksum")
    return out


def restore(
    server: int | Pg,
    source: Path,
    identities: list[x25519.Identity] | None = None,
    jobs: int = 1,
    say: Say = print,
) -> dict[str, float]:
    """Verify checksums, decrypt, then recreate each database from its dump; seconds per db."""
    pg = _pg(server)
    entries = verify(source)
    timings: dict[str, float] = {}
    # Roles are cluster-wide and not in a database dump; the audit grants need theirs.
    _sql(
        pg,
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'audit_app') "
        "THEN CREATE ROLE audit_app LOGIN; END IF; END $$",
    )
    with tempfile.TemporaryDirectory(prefix="ohs-restore-") as tmp:
        for db, entry in entries.items():
            t0 = time.monotonic()
            plain = _plain_dump(source, db, entry, identities, Path(tmp))
            _sql(pg, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            _sql(pg, f'CREATE DATABASE "{db}"')
            _client(pg, "pg_restore", "-d", db, "--no-owner", f"--jobs={jobs}", str(plain))
            if plain.parent == Path(tmp):
                plain.unlink()
            timings[db] = round(time.monotonic() - t0, 2)
            say(f"  {db:<9} restored in {timings[db]:.1f} s")
    return timings


def _client(pg: Pg, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(pg_bin_dir() / tool), *pg.args(), *args],
        capture_output=True,
        text=True,
        timeout=6 * 3600,
        env=pg.env(),
    )
    if result.returncode != 0:
        raise StackError(f"{tool} failed: {result.stderr.strip()}")
    return result


def _sql(pg: Pg, sql: str) -> None:
    _client(pg, "psql", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-qc", sql)


def stamp_of(path: Path) -> datetime | None:
    """The UTC time a backup folder is named after, or None for any other folder."""
    try:
        return datetime.strptime(path.name, STAMP).replace(tzinfo=UTC)
    except ValueError:
        return None


def backups_in(root: Path) -> dict[datetime, Path]:
    """Complete backups (named by time, manifest written) under root."""
    found = {}
    if root.is_dir():
        for path in root.iterdir():
            when = stamp_of(path)
            if when is not None and (path / MANIFEST).is_file():
                found[when] = path
    return found


def newest(root: Path) -> Path:
    """The newest complete backup under root."""
    found = backups_in(root)
    if not found:
        raise StackError(f"no backup found under {root}; give --dir")
    return found[max(found)]


def to_keep(
    stamps: Iterable[datetime], daily: int = 7, weekly: int = 4, monthly: int = 12
) -> set[datetime]:
    """The backups a 7 daily / 4 weekly / 12 monthly rotation keeps: the newest backup of each
    of the `daily` most recent days that have one, of the `weekly` most recent ISO weeks and of
    the `monthly` most recent months (the same backup may count for all three)."""
    ordered = sorted(set(stamps), reverse=True)
    periods: list[tuple[int, Callable[[datetime], object]]] = [
        (daily, lambda t: t.astimezone(UTC).date()),
        (weekly, lambda t: t.astimezone(UTC).isocalendar()[:2]),
        (monthly, lambda t: (t.astimezone(UTC).year, t.astimezone(UTC).month)),
    ]
    keep: set[datetime] = set()
    for count, period in periods:
        seen: set[object] = set()
        for when in ordered:
            key = period(when)
            if key in seen:
                continue
            if len(seen) == count:
                break
            seen.add(key)
            keep.add(when)
    return keep


def rotate(root: Path, settings: BackupSettings, say: Say = print) -> list[Path]:
    """Delete the backups under root that the rotation does not keep; returns them."""
    found = backups_in(root)
    keep = to_keep(found, settings.keep_daily, settings.keep_weekly, settings.keep_monthly)
    removed = [found[t] for t in sorted(found) if t not in keep]
    for path in removed:
        shutil.rmtree(path)
        say(f"  rotated out {path}")
    return removed


def copy_to(source: Path, dest_root: Path) -> Path:
    """Copy a backup folder under dest_root and verify the copy against the manifest; the copy
    appears under its final name only once verified."""
    dest_root.mkdir(parents=True, exist_ok=True)
    dest = dest_root / source.name
    partial = dest_root / f".{source.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(source, partial)
    if (partial / MANIFEST).read_bytes() != (source / MANIFEST).read_bytes():
        raise StackError(f"copy of {source.name}: the manifest differs from the original")
    verify(partial)
    if dest.exists():
        shutil.rmtree(dest)
    partial.rename(dest)
    return dest


def run_once(settings: BackupSettings, say: Say = print, now: datetime | None = None) -> Path:
    """One scheduled run: encrypted backup, its checksums re-read, the second copy, rotation."""
    recipients = load_recipients(settings)
    if recipients is None:
        say("  note: no OHS_BACKUP_KEY_FILE, the dumps are NOT encrypted (refused in production)")
    target = settings.dir / (now or datetime.now(UTC)).strftime(STAMP)
    say(f"backing up to {target}")
    backup(Pg.of(settings), target, recipients=recipients, say=say)
    verify(target)
    if settings.copy_dir is not None:
        copy = copy_to(target, settings.copy_dir)
        say(f"  copied to {copy} and verified")
        rotate(settings.copy_dir, settings, say)
    rotate(settings.dir, settings, say)
    return target


def schedule(settings: BackupSettings, say: Say = print) -> None:
    """Run a backup at every time of the cron line, forever (the compose `backup` service)."""
    load_recipients(settings)
    say(f"backup schedule {settings.schedule!r} (UTC) into {settings.dir}")
    while True:
        due = croniter(settings.schedule, datetime.now(UTC)).get_next(datetime)
        say(f"next backup at {due.isoformat()}")
        time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()))
        try:
            run_once(settings, say)
        except (StackError, OSError) as exc:
            # The next run is tomorrow's chance; the failure is in the log for the operator.
            say(f"error: backup failed: {exc}")


def _ensure_server(port: int, data_dir: Path) -> Postgres | None:
    """Start the local server when it is not running; return it so the caller stops it."""
    if port_in_use(port):
        return None
    server = Postgres(data_dir, port)
    if not (server.pgdata / "PG_VERSION").exists():
        raise StackError(f"no database at {server.pgdata} and nothing listening on port {port}")
    server.start()
    return server


def _say(text: str) -> None:
    print(text, flush=True)


def main(argv: list[str] | None = None) -> int:
    """CLI: make backup / make restore, and the compose schedule."""
    parser = argparse.ArgumentParser(
        prog="python -m common.backup",
        description="Back up, verify, rotate or restore every service database (starts the "
        "local PostgreSQL from .data when nothing listens on the port). Settings come from "
        "OHS_BACKUP_* variables (README, Operations).",
    )
    parser.add_argument(
        "command",
        choices=["backup", "restore", "verify", "rotate", "schedule"],
        help="backup: dump, encrypt, copy, rotate; restore: verify then restore; verify: "
        "checksums only; rotate: apply the 7/4/12 rotation; schedule: run on the cron line",
    )
    parser.add_argument(
        "--dir", help="backup folder (default for backup: <OHS_BACKUP_DIR>/<UTC time>; "
        "otherwise the newest under OHS_BACKUP_DIR)",
    )  # fmt: skip
    parser.add_argument(
        "--identity-file", help="age secret key for restore (OHS_BACKUP_IDENTITY_FILE)"
    )
    parser.add_argument("--data-dir", default=str(REPO / ".data"))
    args = parser.parse_args(argv)
    try:
        try:
            settings = BackupSettings()
        except ValueError as exc:
            raise StackError(str(exc)) from exc
        if args.command == "schedule":
            schedule(settings, _say)
            return 0
        if args.command == "rotate":
            rotate(settings.dir, settings, _say)
            return 0
        if args.command == "backup":
            load_recipients(settings)
        if args.command != "backup":
            target = Path(args.dir) if args.dir else newest(settings.dir)
        if args.command == "verify":
            verify(target)
            _say(f"{target}: every checksum matches")
            return 0
        server = None
        if settings.pg_host in ("127.0.0.1", "localhost"):
            server = _ensure_server(settings.pg_port, Path(args.data_dir))
        try:
            if args.command == "backup":
                if args.dir:
                    recipients = load_recipients(settings)
                    _say(f"backing up to {args.dir}")
                    backup(Pg.of(settings), Path(args.dir), recipients=recipients, say=_say)
                else:
                    run_once(settings, _say)
            else:
                _say(f"restoring from {target}")
                identity = args.identity_file or settings.identity_file
                encrypted = read_manifest(target).get("encryption")
                keys = load_identities(Path(identity) if identity else None) if encrypted else None
                restore(Pg.of(settings), target, keys, say=_say)
        finally:
            if server is not None:
                server.stop()
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _say("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
