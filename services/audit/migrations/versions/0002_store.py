"""The event store (append-only, hash-chained), checkpoints, projections, consumer state.

Revision ID: audit_0002
Revises: audit_0001
Create Date: 2026-11-23 09:18:38.479310

Frozen as first released: constraint names are written out (PostgreSQL's defaults, as created),
and gap.missing, added to this revision later, is added by audit_0003.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "audit_0002"
down_revision: str | None = "audit_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The store and its checkpoints are never rewritten, not even by the owner: a trigger refuses.
APPEND_ONLY = ("event", "checkpoint")
# Projections and consumer state are rebuilt or moved forward by the app role.
REWRITABLE = (
    "access_entry",
    "actor_activity",
    "alert",
    "gap",
    "source_stat",
    "consumer_position",
    "pending_event",
)
APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the audit % table is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$
"""


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "access_entry",
        sa.Column("position", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("worker_id", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("actor_user_id", sa.String(length=64), nullable=True),
        sa.Column("actor_name", sa.String(length=200), nullable=True),
        sa.Column("actor_profile", sa.String(length=32), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("resource_type", sa.String(length=64), nullable=True),
        sa.Column("resource_id", sa.String(length=64), nullable=True),
        sa.Column("part", sa.String(length=64), nullable=True),
        sa.Column("purpose", sa.Text(), nullable=True),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.PrimaryKeyConstraint("position", name=op.f("access_entry_pkey")),
    )
    op.create_index(
        "ix_access_entry_actor_time", "access_entry", ["actor_user_id", "occurred_at"], unique=False
    )
    op.create_index(
        "ix_access_entry_worker_time",
        "access_entry",
        ["worker_id", "occurred_at", "position"],
        unique=False,
    )
    op.create_table(
        "actor_activity",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=200), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("profile", sa.String(length=32), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("denied", sa.BigInteger(), nullable=False),
        sa.Column("file_accesses", sa.BigInteger(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("actor_activity_pkey")),
    )
    op.create_table(
        "alert",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("worker_id", sa.String(length=64), nullable=True),
        sa.Column("actor_user_id", sa.String(length=64), nullable=True),
        sa.Column("actor_name", sa.String(length=200), nullable=True),
        sa.Column("actor_profile", sa.String(length=32), nullable=True),
        sa.Column("gap_id", sa.Uuid(), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=200), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("alert_pkey")),
    )
    op.create_index(
        "ix_alert_actor_kind", "alert", ["actor_user_id", "kind", "occurred_at"], unique=False
    )
    op.create_index("ix_alert_raised", "alert", ["raised_at", "id"], unique=False)
    op.create_table(
        "checkpoint",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("checkpoint_pkey")),
    )
    op.create_index(op.f("ix_checkpoint_position"), "checkpoint", ["position"], unique=False)
    op.create_table(
        "consumer_position",
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("partition", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("next_offset", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("topic", "partition", name=op.f("consumer_position_pkey")),
    )
    op.create_table(
        "event",
        sa.Column("position", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_seq", sa.BigInteger(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("worker_id", sa.String(length=64), nullable=True),
        sa.Column("actor_user_id", sa.String(length=64), nullable=True),
        sa.Column("actor_profile", sa.String(length=32), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("origin_topic", sa.String(length=64), nullable=True),
        sa.Column("origin_partition", sa.Integer(), nullable=True),
        sa.Column("origin_offset", sa.BigInteger(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("position", name=op.f("event_pkey")),
        sa.UniqueConstraint("event_id", name=op.f("event_event_id_key")),
    )
    op.create_index("ix_event_actor_time", "event", ["actor_user_id", "occurred_at"], unique=False)
    op.create_index("ix_event_source_seq", "event", ["source", "source_seq"], unique=False)
    op.create_index("ix_event_worker_time", "event", ["worker_id", "occurred_at"], unique=False)
    op.create_table(
        "gap",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("from_seq", sa.BigInteger(), nullable=False),
        sa.Column("to_seq", sa.BigInteger(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("alert_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("gap_pkey")),
    )
    op.create_index("ix_gap_open", "gap", ["source", "resolved_at"], unique=False)
    op.create_table(
        "quarantine",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.Text(), nullable=True),
        sa.Column("value", sa.LargeBinary(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("quarantine_pkey")),
        sa.UniqueConstraint(
            "topic", "partition", "offset", name=op.f("quarantine_topic_partition_offset_key")
        ),
    )
    op.create_table(
        "checkpoint_key",
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("private_pem", sa.Text(), nullable=False),
        sa.Column("public_pem", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key_id", name=op.f("checkpoint_key_pkey")),
    )
    op.create_table(
        "source_stat",
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("max_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source", name=op.f("source_stat_pkey")),
    )

    op.create_table(
        "pending_event",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("draft", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pending_event_pkey")),
        sa.UniqueConstraint("event_id", name=op.f("pending_event_event_id_key")),
    )
    op.execute(APPEND_ONLY_FUNCTION)
    for table in APPEND_ONLY:
        op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM audit_app")
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()"
        )
    for table in REWRITABLE:
        op.execute(f"GRANT UPDATE, DELETE, TRUNCATE ON {table} TO audit_app")


def downgrade() -> None:
    """Revert."""
    for table in APPEND_ONLY:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    op.execute("DROP FUNCTION IF EXISTS audit_refuse_change()")
    op.drop_table("pending_event")
    op.drop_table("source_stat")
    op.drop_table("checkpoint_key")
    op.drop_table("quarantine")
    op.drop_index("ix_gap_open", table_name="gap")
    op.drop_table("gap")
    op.drop_index("ix_event_worker_time", table_name="event")
    op.drop_index("ix_event_source_seq", table_name="event")
    op.drop_index("ix_event_actor_time", table_name="event")
    op.drop_table("event")
    op.drop_table("consumer_position")
    op.drop_index(op.f("ix_checkpoint_position"), table_name="checkpoint")
    op.drop_table("checkpoint")
    op.drop_index("ix_alert_raised", table_name="alert")
    op.drop_index("ix_alert_actor_kind", table_name="alert")
    op.drop_table("alert")
    op.drop_table("actor_activity")
    op.drop_index("ix_access_entry_worker_time", table_name="access_entry")
    op.drop_index("ix_access_entry_actor_time", table_name="access_entry")
    op.drop_table("access_entry")
