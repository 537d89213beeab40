"""The transactional outbox of the register service.

Revision ID: register_0001
Revises:
Create Date: 2026-11-23

Frozen DDL: the schema this revision has always created, written out here instead of taken from
the live models, so that editing common.outbox can never change what an old revision does. The
later ix_outbox_unnumbered index is added by register_0003.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "register_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = (
    """CREATE TABLE outbox (
        id BIGSERIAL NOT NULL,
        event_id UUID NOT NULL,
        topic VARCHAR(64) NOT NULL,
        key VARCHAR(64),
        payload JSONB NOT NULL,
        traceparent VARCHAR(64),
        created_at TIMESTAMP WITH TIME ZONE NOT NULL,
        source_seq BIGINT,
        published_at TIMESTAMP WITH TIME ZONE,
        CONSTRAINT pk_outbox PRIMARY KEY (id),
        CONSTRAINT uq_outbox_event_id UNIQUE (event_id),
        CONSTRAINT uq_outbox_source_seq UNIQUE (source_seq)
    )""",
    """CREATE TABLE outbox_cursor (
        source VARCHAR(32) NOT NULL,
        last_seq BIGINT NOT NULL,
        waiting BOOLEAN DEFAULT false NOT NULL,
        CONSTRAINT pk_outbox_cursor PRIMARY KEY (source)
    )""",
    "CREATE INDEX IF NOT EXISTS ix_outbox_unpublished ON outbox (source_seq, id) "
    "WHERE published_at IS NULL",
    # NOTIFY takes a cluster-wide lock at commit that serialises committing transactions, so
    # writers notify only while the relay is idle and waiting; a busy relay needs no wake-up.
    """CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF EXISTS (SELECT 1 FROM outbox_cursor WHERE waiting) THEN
        PERFORM pg_notify('outbox', '');
      END IF;
      RETURN NULL;
    END $$""",
    "CREATE TRIGGER outbox_notify AFTER INSERT ON outbox "
    "FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify()",
)


def upgrade() -> None:
    """Apply."""
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    """Revert."""
    op.execute("DROP TABLE IF EXISTS outbox, outbox_cursor CASCADE")
    op.execute("DROP FUNCTION IF EXISTS outbox_notify()")
