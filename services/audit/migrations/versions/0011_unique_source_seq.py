"""event: UNIQUE (source, source_seq) — one event per number of a source.

Revision ID: audit_0011
Revises: audit_0010_log_reset
Create Date: 2026-11-25

A second event with a number its source already used is a forgery or a replay under a new
event_id; the consumer quarantines it before it reaches the store, and the constraint makes
the store refuse it whatever the code does. The constraint's index replaces the plain one.
A store that already holds such a pair cannot take the constraint (and its rows cannot be
deleted: the table is append-only): the upgrade stops and says which pairs.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "audit_0011"
down_revision: str | None = "audit_0010_log_reset"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.execute(
        """
        DO $$
        DECLARE taken text;
        BEGIN
          SELECT string_agg(source || ':' || source_seq, ', ') INTO taken FROM (
            SELECT source, source_seq FROM event GROUP BY source, source_seq
            HAVING count(*) > 1 ORDER BY source, source_seq LIMIT 20
          ) d;
          IF taken IS NOT NULL THEN
            RAISE EXCEPTION 'event holds several events for (source, source_seq) %; '
              'investigate them before adding the constraint', taken;
          END IF;
        END $$
        """
    )
    op.execute("ALTER TABLE event ADD CONSTRAINT uq_event_source_seq UNIQUE (source, source_seq)")
    op.execute("DROP INDEX IF EXISTS ix_event_source_seq")


def downgrade() -> None:
    """Revert."""
    op.execute("CREATE INDEX IF NOT EXISTS ix_event_source_seq ON event (source, source_seq)")
    op.execute("ALTER TABLE event DROP CONSTRAINT IF EXISTS uq_event_source_seq")
