"""Backups an auditor accepts: encrypted dumps, checksums, keys, the second copy, the drill.

Against the real PostgreSQL of the test stack; every key is generated here, none is committed.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from pyrage import x25519
from sqlalchemy.ext.asyncio import create_async_engine

from common.backup import (
    BackupSettings,
    backup,
    copy_to,
    load_identities,
    load_recipients,
    restore,
    run_once,
    verify,
)
from common.db import make_sessionmaker
from common.devstack import REPO, SERVICES, Postgres, Stack, StackError, free_port
from common.events import EventDraft
from common.outbox import record_events

pytestmark = pytest.mark.asyncio


class Keys:
    """A fresh age key pair in files, as an operator provides them."""

    def __init__(self, where: Path) -> None:
        where.mkdir(parents=True, exist_ok=True)
        identity = x25519.Identity.generate()
        self.recipient_file = where / "backup.pub"
        self.identity_file = where / "backup.key"
        self.recipient_file.write_text(f"# backup recipient\n{identity.to_public()}\n")
        self.identity_file.write_text(f"{identity}\n")
        self.identity_file.chmod(0o600)

    def settings(self, **values: object) -> BackupSettings:
        """Backup settings encrypting to this pair."""
        return BackupSettings(key_file=self.recipient_file, identity_file=self.identity_file,
                              **values)  # fmt: skip


def fingerprint(server: Postgres, db: str) -> dict[str, str]:
    """Row count and an order-independent digest of every table of a database."""
    tables = server.psql(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1", db
    ).split()
    out = {}
    for table in tables:
        out[table] = server.psql(
            "SELECT count(*) || ':' || "
            f"coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM \"{table}\" t",
            db,
        ).strip()
    return out


async def add_outbox_rows(stack: Stack, n: int) -> None:
    """n read events in the records outbox (the relay carries them to the audit store)."""
    engine = create_async_engine(stack.postgres.url("records"))
    async with make_sessionmaker(engine)() as session:
        events = [
            EventDraft(source="records", action="read", actor=None, worker_id=str(uuid.uuid4()))
            for _ in range(n)
        ]
        await record_events(session, events)
        await session.commit()
    await engine.dispose()


def cli(module: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a backup command as the operator does (no OHS_BACKUP_* from this shell)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("OHS_BACKUP")}
    return subprocess.run(
        [sys.executable, "-m", module, *args], capture_output=True, text=True, timeout=600,
        cwd=REPO, env={**base, **env},
    )  # fmt: skip


class TestEncryptedRoundTrip:
    async def test_every_row_survives_encrypted(self, stack: Stack, tmp_path: Path):
        await add_outbox_rows(stack, 300)
        keys = Keys(tmp_path / "keys")
        # Relays and the consumer write on their own (heartbeats, positions, checkpoints):
        # pause them so the fingerprint and the dump see the same rows.
        writers = [name for name in stack.children if name not in stack.ports.services]
        for name in writers:
            stack.kill_child(name)
        try:
            before = {db: fingerprint(stack.postgres, db) for db in SERVICES}
            assert before["records"]["outbox"].split(":")[0] != "0"
            target = backup(
                stack.postgres.port,
                tmp_path / "backup",
                recipients=load_recipients(keys.settings()),
            )
        finally:
            stack.start_children(writers)

        manifest = json.loads((target / "manifest.json").read_text())
        assert manifest["encryption"] == "age-x25519"
        for db in SERVICES:
            stored = (target / f"{db}.dump.age").read_bytes()
            assert stored.startswith(b"age-encryption.org/v1"), db
            assert b"PGDMP" not in stored, f"{db}: plain dump bytes at rest"
            assert not (target / f"{db}.dump").exists()

        fresh = Postgres(tmp_path / "fresh", free_port(), durable=False)
        fresh.start()
        try:
            restore(fresh.port, target, load_identities(keys.identity_file))
            after = {db: fingerprint(fresh, db) for db in SERVICES}
        finally:
            fresh.stop()
        for db in SERVICES:
            assert after[db].keys() == before[db].keys(), db
            for table, print_ in before[db].items():
                assert after[db][table] == print_, f"{db}.{table}"

    async def test_row_counts_come_from_the_dump_snapshot(self, stack: Stack, tmp_path: Path):
        # Writers keep running here: the counts must still be those of the dumped snapshot.
        target = backup(stack.postgres.port, tmp_path / "b", databases=("records",))
        rows = json.loads((target / "manifest.json").read_text())["databases"]["records"]["rows"]
        fresh = Postgres(tmp_path / "fresh", free_port(), durable=False)
        fresh.start()
        try:
            restore(fresh.port, target)
            for name, count in rows.items():
                table = name.split(".", 1)[1]
                assert int(fresh.psql(f'SELECT count(*) FROM "{table}"', "records")) == count
        finally:
            fresh.stop()


class TestKeyRequiredInProduction:
    async def test_backup_without_key_refuses_to_start(self, stack: Stack, tmp_path: Path):
        env = {"OHS_ENVIRONMENT": "production", "OHS_PG_PORT": str(stack.postgres.port),
               "OHS_BACKUP_DIR": str(tmp_path / "out")}  # fmt: skip
        result = cli("common.backup", "backup", env=env)
        assert result.returncode == 2, result.stdout + result.stderr
        assert "OHS_BACKUP_KEY_FILE is not set" in result.stderr
        assert "Traceback" not in result.stderr
        assert not (tmp_path / "out").exists(), "nothing written"

    async def test_schedule_without_key_refuses_to_start(self, tmp_path: Path):
        result = cli("common.backup", "schedule",
                     env={"OHS_ENVIRONMENT": "production"})  # fmt: skip
        assert result.returncode == 2
        assert "must be encrypted" in result.stderr

    async def test_development_without_key_writes_plain_dumps(self, stack: Stack, tmp_path: Path):
        settings = BackupSettings(pg_port=stack.postgres.port, dir=tmp_path / "dev")
        target = run_once(settings, say=lambda _: None)
        assert (target / "register.dump").read_bytes().startswith(b"PGDMP")

    async def test_secret_key_as_recipient_is_refused(self, tmp_path: Path):
        keys = Keys(tmp_path)
        with pytest.raises(StackError, match="secret key"):
            load_recipients(BackupSettings(key_file=keys.identity_file))

    async def test_missing_or_junk_key_file_is_readable(self, tmp_path: Path):
        with pytest.raises(StackError, match="cannot read it"):
            load_recipients(BackupSettings(key_file=tmp_path / "nope.pub"))
        (tmp_path / "junk.pub").write_text("not a key\n")
        with pytest.raises(StackError, match="line 1 is not an age public key"):
            load_recipients(BackupSettings(key_file=tmp_path / "junk.pub"))

    async def test_bad_cron_line_is_refused(self):
        with pytest.raises(ValueError, match="not a cron line"):
            BackupSettings(schedule="every day")


class TestWrongKeyOnRestore:
    async def test_other_identity_is_refused_and_nothing_restored(
        self, stack: Stack, tmp_path: Path
    ):
        keys, other = Keys(tmp_path / "k1"), Keys(tmp_path / "k2")
        target = backup(stack.postgres.port, tmp_path / "b", databases=("register",),
                        recipients=load_recipients(keys.settings()))  # fmt: skip
        fresh = Postgres(tmp_path / "fresh", free_port(), durable=False)
        fresh.start()
        try:
            with pytest.raises(StackError, match="wrong key"):
                restore(fresh.port, target, load_identities(other.identity_file))
            assert "register" not in fresh.psql("SELECT datname FROM pg_database").split()
            with pytest.raises(StackError, match="identity file"):
                restore(fresh.port, target, None)
        finally:
            fresh.stop()

    async def test_drill_with_wrong_key_fails_readably(self, stack: Stack, tmp_path: Path):
        keys, other = Keys(tmp_path / "k1"), Keys(tmp_path / "k2")
        target = backup(stack.postgres.port, tmp_path / "b", databases=("register",),
                        recipients=load_recipients(keys.settings()))  # fmt: skip
        result = cli("common.drill", "--dir", str(target),
                     "--identity-file", str(other.identity_file), env={})  # fmt: skip
        assert result.returncode == 2
        assert "restore drill FAILED" in result.stderr and "wrong key" in result.stderr


class TestTamperedBackup:
    async def test_altered_dump_is_refused(self, stack: Stack, tmp_path: Path):
        target = backup(stack.postgres.port, tmp_path / "b", databases=("register",))
        dump = target / "register.dump"
        data = bytearray(dump.read_bytes())
        data[len(data) // 2] ^= 0xFF
        dump.write_bytes(bytes(data))
        with pytest.raises(StackError, match="checksum"):
            verify(target)

    async def test_altered_encrypted_dump_is_refused_before_restore(
        self, stack: Stack, tmp_path: Path
    ):
        keys = Keys(tmp_path / "k")
        target = backup(stack.postgres.port, tmp_path / "e", databases=("register",),
                        recipients=load_recipients(keys.settings()))  # fmt: skip
        dump = target / "register.dump.age"
        data = bytearray(dump.read_bytes())
        data[-10] ^= 0x01
        dump.write_bytes(bytes(data))
        result = cli("common.drill", "--dir", str(target),
                     "--identity-file", str(keys.identity_file), env={})  # fmt: skip
        assert result.returncode == 2
        assert "does not match its checksum" in result.stderr

    async def test_missing_dump_is_refused(self, stack: Stack, tmp_path: Path):
        target = backup(stack.postgres.port, tmp_path / "c", databases=("register",))
        (target / "register.dump").unlink()
        with pytest.raises(StackError, match="missing"):
            verify(target)


class TestSecondCopy:
    async def test_scheduled_run_copies_and_verifies(self, stack: Stack, tmp_path: Path):
        keys = Keys(tmp_path / "k")
        settings = keys.settings(pg_port=stack.postgres.port, dir=tmp_path / "primary",
                                 copy_dir=tmp_path / "offsite")  # fmt: skip
        target = run_once(settings, say=lambda _: None)
        copy = tmp_path / "offsite" / target.name
        assert sorted(p.name for p in copy.iterdir()) == sorted(p.name for p in target.iterdir())
        assert verify(copy).keys() == set(SERVICES)
        assert not list((tmp_path / "offsite").glob(".*partial"))

    async def test_corrupted_copy_is_caught_and_not_published(
        self, stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ):
        import shutil

        target = backup(stack.postgres.port, tmp_path / "b", databases=("register",))
        real = shutil.copytree

        def flaky(src: Path, dst: Path) -> object:
            out = real(src, dst)
            dump = Path(dst) / "register.dump"
            dump.write_bytes(dump.read_bytes()[:-1])
            return out

        monkeypatch.setattr(shutil, "copytree", flaky)
        with pytest.raises(StackError, match="checksum"):
            copy_to(target, tmp_path / "offsite")
        assert not (tmp_path / "offsite" / target.name).exists()


class TestRestoreDrill:
    async def test_drill_end_to_end_on_a_small_store(self, stack: Stack, tmp_path: Path):
        await add_outbox_rows(stack, 200)
        for _ in range(300):
            if int(stack.postgres.psql("SELECT count(*) FROM event", "audit")) >= 200:
                break
            await asyncio.sleep(0.1)
        keys = Keys(tmp_path / "k")
        env = {"OHS_PG_PORT": str(stack.postgres.port), "OHS_BACKUP_DIR": str(tmp_path / "bk"),
               "OHS_BACKUP_KEY_FILE": str(keys.recipient_file),
               "OHS_BACKUP_IDENTITY_FILE": str(keys.identity_file)}  # fmt: skip
        made = cli("common.backup", "backup", env=env)
        assert made.returncode == 0, made.stderr

        figures = tmp_path / "drill.json"
        result = cli("common.drill", "--json", str(figures), env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        out = result.stdout
        for step in ("1/5", "2/5", "3/5", "4/5", "5/5"):
            assert step in out
        assert "recovery time (RTO)" in out and "intact" in out
        data = json.loads(figures.read_text())
        assert data["encrypted"] is True
        assert data["events_verified"] >= 200
        assert data["rto_s"] > 0 and data["backup_bytes"] > 0
        assert set(data["rows"]) == set(SERVICES)

    async def test_drill_fails_when_rows_are_missing(self, stack: Stack, tmp_path: Path):
        target = backup(stack.postgres.port, tmp_path / "b", databases=("register",))
        manifest = json.loads((target / "manifest.json").read_text())
        rows = manifest["databases"]["register"]["rows"]
        table = next(iter(rows))
        rows[table] += 1
        (target / "manifest.json").write_text(json.dumps(manifest))
        result = cli("common.drill", "--dir", str(target), env={})
        assert result.returncode == 2
        assert f"{table}: {rows[table]} expected" in result.stderr

    async def test_help_explains(self):
        result = cli("common.drill", "--help", env={})
        assert result.returncode == 0
        for word in ("newest backup", "RTO", "OHS_BACKUP_IDENTITY_FILE", "--dir", "row count"):
            assert word in result.stdout
