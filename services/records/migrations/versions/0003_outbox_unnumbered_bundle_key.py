"""Changes made after the first release: the outbox index for unnumbered rows, bundle_key.

Revision ID: records_0003
Revises: records_0002
Create Date: 2026-11-24

Both were first made by editing records_0001 and records_0002, so databases created since then
already have them: each step here is idempotent.
- ix_outbox_unnumbered: the relay finds the rows still waiting for a number through it.
- signing_key renamed bundle_key (identity has a signing_key table of its own; one metadata
  holds both in tests), with its primary key.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "records_0003"
down_revision: str | None = "records_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_outbox_unnumbered ON outbox (id) WHERE source_seq IS NULL"
    )
    op.execute(
        """
        DO $$ DECLARE c record; BEGIN
          IF to_regclass('public.signing_key') IS NOT NULL
             AND to_regclass('public.bundle_key') IS NULL THEN
            ALTER TABLE signing_key RENAME TO bundle_key;
            -- pk_signing_key, and on PostgreSQL 18 the named NOT NULL constraints too.
            FOR c IN SELECT conname FROM pg_constraint
                     WHERE conrelid = 'public.bundle_key'::regclass
                       AND conname IN ('pk_signing_key', 'signing_key_kid_not_null',
                                       'signing_key_private_pem_not_null',
                                       'signing_key_public_key_not_null',
                                       'signing_key_created_at_not_null') LOOP
              EXECUTE format('ALTER TABLE bundle_key RENAME CONSTRAINT %I TO %I',
                             c.conname, replace(c.conname, 'signing_key', 'bundle_key'));
            END LOOP;
          END IF;
        END $$
        """
    )


def downgrade() -> None:
    """Revert."""
    op.execute(
        """
        DO $$ DECLARE c record; BEGIN
          FOR c IN SELECT conname FROM pg_constraint
                   WHERE conrelid = 'public.bundle_key'::regclass
                     AND conname IN ('pk_bundle_key', 'bundle_key_kid_not_null',
                                     'bundle_key_private_pem_not_null',
                                     'bundle_key_public_key_not_null',
                                     'bundle_key_created_at_not_null') LOOP
            EXECUTE format('ALTER TABLE bundle_key RENAME CONSTRAINT %I TO %I',
                           c.conname, replace(c.conname, 'bundle_key', 'signing_key'));
          END LOOP;
        END $$
        """
    )
    op.execute("ALTER TABLE bundle_key RENAME TO signing_key")
    op.execute("DROP INDEX IF EXISTS ix_outbox_unnumbered")
