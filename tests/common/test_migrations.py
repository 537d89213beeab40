"""Migrations are frozen DDL that upgrade: every path to head gives one schema, the models' schema.

Each test works in scratch databases of the stack's PostgreSQL, dropped afterwards. Schemas are
compared through pg_catalog: columns (type, nullability, default), indexes, constraints,
triggers, functions, sequences and privileges. Column order is left out on purpose: a column
added by a later revision (audit's gap.missing) comes last in an upgraded database, wherever an
edited old revision had put it; nothing in the services depends on the order.
"""

from __future__ import annotations

import asyncio
import importlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, UniqueConstraint
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel
from sqlmodel.main import default_registry

from common.devstack import Stack
from common.migrate import SERVICES, alembic_config, upgrade
from common.outbox import asyncpg_dsn

pytestmark = pytest.mark.asyncio
PUBLISHERS = ("identity", "records", "register")

# What an edited first revision created before the late additions moved to a revision of their
# own (the head of commit 661c502): run by hand on a database at the old head revision.
OLD_HEAD: dict[str, tuple[str, list[str]]] = {
    "identity": (
        "identity_0002",
        ["CREATE INDEX ix_outbox_unnumbered ON outbox (id) WHERE source_seq IS NULL"],
    ),
    "records": (
        "records_0002",
        [
            "CREATE INDEX ix_outbox_unnumbered ON outbox (id) WHERE source_seq IS NULL",
            # records_0002 created bundle_key directly: same table, constraints named after it.
            "ALTER TABLE signing_key RENAME TO bundle_key",
            """DO $$ DECLARE c record; BEGIN
                 FOR c IN SELECT conname FROM pg_constraint
                          WHERE conrelid = 'bundle_key'::regclass
                            AND conname LIKE '%signing_key%' LOOP
                   EXECUTE format('ALTER TABLE bundle_key RENAME CONSTRAINT %I TO %I',
                                  c.conname, replace(c.conname, 'signing_key', 'bundle_key'));
                 END LOOP;
               END $$""",
        ],
    ),
    "register": (
        "register_0003",
        ["CREATE INDEX ix_outbox_unnumbered ON outbox (id) WHERE source_seq IS NULL"],
    ),
    "audit": ("audit_0002", ["ALTER TABLE gap ADD COLUMN missing bigint NOT NULL"]),
}

SNAPSHOT_QUERIES = {
    "columns": """
        SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               pg_get_expr(d.adbin, d.adrelid), a.attidentity::text
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v')
          AND a.attnum > 0 AND NOT a.attisdropped""",
    "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'",
    "constraints": """
        SELECT c.relname, k.conname, k.contype::text, pg_get_constraintdef(k.oid)
        FROM pg_constraint k
        JOIN pg_class c ON c.oid = k.conrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public'""",
    "triggers": """
        SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid)
        FROM pg_trigger t
        JOIN pg_class c ON c.oid = t.tgrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND NOT t.tgisinternal""",
    "functions": """
        SELECT p.proname, pg_get_functiondef(p.oid)
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public'""",
    "sequences": """
        SELECT sequencename, data_type::text, start_value, increment_by, max_value, cycle
        FROM pg_sequences WHERE schemaname = 'public'""",
    "privileges": """
        SELECT c.relname, c.relkind::text, coalesce(c.relacl::text, '')
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'S')
        UNION ALL
        SELECT 'schema public', 'n', coalesce(nspacl::text, '')
        FROM pg_namespace WHERE nspname = 'public'
        UNION ALL
        SELECT 'default ' || d.defaclobjtype::text, 'd', d.defaclacl::text
        FROM pg_default_acl d JOIN pg_namespace n ON n.oid = d.defaclnamespace
        WHERE n.nspname = 'public'""",
}

Schema = dict[str, set[tuple[Any, ...]]]


async def snapshot(url: str) -> Schema:
    """The schema of the public namespace, as comparable sets (see the module's docstring)."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return {
            part: {tuple(row) for row in await conn.fetch(query)}
            for part, query in SNAPSHOT_QUERIES.items()
        }
    finally:
        await conn.close()


def assert_same(left: Schema, right: Schema) -> None:
    """Equal schemas, or the differences part by part."""
    differences = {
        part: {"only left": left[part] - right[part], "only right": right[part] - left[part]}
        for part in SNAPSHOT_QUERIES
        if left[part] != right[part]
    }
    assert not differences, differences


def revisions(service: str) -> tuple[str, str]:
    """The first revision and the head of a service's tree (one base, one head each)."""
    script = ScriptDirectory.from_config(alembic_config(service, "postgresql://unused"))
    (base,) = script.get_bases()
    head = script.get_current_head()
    assert head is not None
    return base, head


async def migrate(service: str, url: str, revision: str = "head") -> None:
    """Alembic upgrade, off the event loop (env.py runs its own)."""
    await asyncio.to_thread(upgrade, service, url, revision)


async def downgrade(service: str, url: str, revision: str) -> None:
    """Alembic downgrade, off the event loop."""
    await asyncio.to_thread(command.downgrade, alembic_config(service, url), revision)


async def execute(url: str, statements: list[str]) -> None:
    """Run SQL by hand, in one transaction."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        async with conn.transaction():
            for statement in statements:
                await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture
async def scratch(stack: Stack) -> AsyncIterator[Callable[[], Awaitable[str]]]:
    """A factory of empty databases (their URLs), all dropped at the end of the test."""
    names: list[str] = []

    async def make() -> str:
        name = f"mig_{uuid.uuid4().hex[:10]}"
        stack.postgres.psql(f'CREATE DATABASE "{name}"')
        names.append(name)
        return stack.postgres.url(name)

    yield make
    for name in names:
        stack.postgres.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.parametrize("service", SERVICES)
class TestEveryPathGivesOneSchema:
    async def test_first_revision_then_head_equals_straight_to_head(self, scratch, service):
        base, _ = revisions(service)
        stepwise, straight = await scratch(), await scratch()
        await migrate(service, stepwise, base)
        await migrate(service, stepwise)
        await migrate(service, straight)
        assert_same(await snapshot(stepwise), await snapshot(straight))

    async def test_one_revision_at_a_time_equals_straight_to_head(self, scratch, service):
        script = ScriptDirectory.from_config(alembic_config(service, "postgresql://unused"))
        steps = [r.revision for r in reversed(list(script.walk_revisions()))]
        stepwise, straight = await scratch(), await scratch()
        for revision in steps:
            await migrate(service, stepwise, revision)
        await migrate(service, straight)
        assert_same(await snapshot(stepwise), await snapshot(straight))


@pytest.mark.parametrize("service", SERVICES)
class TestOldHeadUpgrades:
    async def test_database_made_by_the_edited_revisions_reaches_the_same_head(
        self, scratch, service
    ):
        revision, late_additions = OLD_HEAD[service]
        old, fresh = await scratch(), await scratch()
        await migrate(service, old, revision)
        await execute(old, late_additions)
        await migrate(service, old)
        await migrate(service, fresh)
        assert_same(await snapshot(old), await snapshot(fresh))


@pytest.mark.parametrize("service", SERVICES)
class TestDowngrade:
    async def test_down_and_up_again_gives_the_head_schema(self, scratch, service):
        base, _ = revisions(service)
        # audit_0001's downgrade revokes CONNECT on the database named audit, which is the
        # stack's own: stop above it there.
        target = base if service == "audit" else "base"
        db, fresh = await scratch(), await scratch()
        await migrate(service, db)
        await downgrade(service, db, target)
        left = await snapshot(db)
        if target == "base":
            assert {row[0] for row in left["columns"]} == {"alembic_version"}
            assert not left["functions"]
        await migrate(service, db)
        await migrate(service, fresh)
        assert_same(await snapshot(db), await snapshot(fresh))


class TestGapBackfill:
    async def test_gaps_recorded_before_the_column_get_their_count(self, scratch):
        db = await scratch()
        await migrate("audit", db, "audit_0002")
        event = (
            "INSERT INTO event (position, event_id, source, source_seq, occurred_at, recorded_at,"
            " action, outcome, body, prev_hash, hash) VALUES ({0}, '{1}', 'records', {0}, now(),"
            " now(), 'read', 'success', '{{}}', '', '')"
        )
        gap = (
            "INSERT INTO gap (id, source, from_seq, to_seq, opened_at, resolved_at) VALUES"
            " ('{0}', 'records', {1}, {2}, now(), {3})"
        )
        open_gap, closed_gap = uuid.uuid4(), uuid.uuid4()
        await execute(
            db,
            [
                *(event.format(seq, uuid.uuid4()) for seq in (3, 5)),
                gap.format(open_gap, 2, 6, "NULL"),  # 5 numbers, 2 of them arrived since
                gap.format(closed_gap, 10, 12, "now()"),
            ],
        )
        await migrate("audit", db)
        conn = await asyncpg.connect(asyncpg_dsn(db))
        try:
            counts = dict(await conn.fetch("SELECT id, missing FROM gap"))
        finally:
            await conn.close()
        assert counts == {open_gap: 3, closed_gap: 0}


def service_tables(service: str) -> set[str]:
    """The tables the service's models declare (all services share SQLModel's metadata)."""
    importlib.import_module(f"{service}.models")
    owners = {service, "common"} if service in PUBLISHERS else {service}
    return {
        m.local_table.name
        for m in default_registry.mappers
        if m.class_.__module__.split(".")[0] in owners
    }


# Objects made by raw SQL in the migrations that the models do not declare, each on purpose:
# partial or expression indexes the queries need (the models only describe columns and
# plain indexes). Anything else the comparison reports is a real difference.
RAW_SQL_INDEXES = {"ix_outbox_unpublished", "ix_outbox_unnumbered", "ix_worker_lower_last_name"}


@pytest.mark.parametrize("service", SERVICES)
class TestHeadMatchesModels:
    async def test_autogenerate_finds_no_difference(self, scratch, service):
        db = await scratch()
        await migrate(service, db)
        own = service_tables(service)

        def include(obj: Any, name: str | None, type_: str, reflected: bool, _: Any) -> bool:
            if type_ == "table":
                # The models' tables, and any table in the database the models lack.
                return name in own or (reflected and name != "alembic_version")
            return not (type_ == "index" and reflected and name in RAW_SQL_INDEXES)

        def compare(connection: Connection) -> list[Any]:
            context = MigrationContext.configure(
                connection,
                opts={"compare_type": True, "include_object": include},
            )
            metadata: MetaData = SQLModel.metadata
            return list(compare_metadata(context, metadata))

        engine = create_async_engine(db)
        try:
            async with engine.connect() as conn:
                differences = await conn.run_sync(compare)
        finally:
            await engine.dispose()
        assert renamed_only(differences) == []


def renamed_only(differences: list[Any]) -> list[Any]:
    """The differences less unique constraints that differ by name only.

    audit_0002 was generated in a process without common.db's naming convention, so its unique
    constraints carry PostgreSQL's names (event_event_id_key) where the application's metadata
    names them uq_event_event_id; same columns, same constraint. Renaming them would be a
    migration of its own; any other difference still fails.
    """

    def key(constraint: Any) -> tuple[str, tuple[str, ...]]:
        return constraint.table.name, tuple(c.name for c in constraint.columns)

    def unique(diff: Any, op: str) -> bool:
        return isinstance(diff, tuple) and diff[0] == op and isinstance(diff[1], UniqueConstraint)

    removed = {key(d[1]) for d in differences if unique(d, "remove_constraint")}
    added = {key(d[1]) for d in differences if unique(d, "add_constraint")}
    return [
        d
        for d in differences
        if not (
            (unique(d, "remove_constraint") or unique(d, "add_constraint"))
            and key(d[1]) in removed & added
        )
    ]
