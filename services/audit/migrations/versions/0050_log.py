"""the Merkle tree log: tiles of stored subtree hashes and signed tlog checkpoints.

Revision ID: audit_0050
Revises: audit_0040
Create Date: 2026-12-01

Frozen DDL. log_tile holds the tree (services/audit/core/merkle.py): only the rightmost tile of a
level ever changes, and then only by growing, which the trigger enforces for every role that
does not disable it. log_checkpoint is append-only like the store.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "audit_0050"
down_revision: str | None = "audit_0040"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TILE_GROWS_ONLY = """
CREATE OR REPLACE FUNCTION audit_tile_grows_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'UPDATE' OR NEW.level <> OLD.level OR NEW.idx <> OLD.idx
     OR length(NEW.hashes) < length(OLD.hashes)
     OR substring(NEW.hashes FROM 1 FOR length(OLD.hashes)) <> OLD.hashes THEN
    RAISE EXCEPTION 'a log tile only grows: % refused', TG_OP
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $$;
"""


def upgrade() -> None:
    """Apply."""
    op.execute(
        """
        CREATE TABLE log_tile (
            level SMALLINT NOT NULL,
            idx BIGINT NOT NULL,
            hashes BYTEA NOT NULL,
            PRIMARY KEY (level, idx)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE log_checkpoint (
            tree_size BIGINT PRIMARY KEY,
            root_hash BYTEA NOT NULL,
            note TEXT NOT NULL,
            key_id VARCHAR(32) NOT NULL,
            signed_at TIMESTAMP WITH TIME ZONE NOT NULL
        )
        """
    )
    op.execute(TILE_GROWS_ONLY)
    op.execute("REVOKE DELETE, TRUNCATE ON log_tile FROM audit_app")
    op.execute("GRANT SELECT, INSERT, UPDATE ON log_tile TO audit_app")
    op.execute(
        "CREATE TRIGGER log_tile_grows_only BEFORE UPDATE OR DELETE ON log_tile "
        "FOR EACH ROW EXECUTE FUNCTION audit_tile_grows_only()"
    )
    op.execute(
        "CREATE TRIGGER log_tile_no_truncate BEFORE TRUNCATE ON log_tile "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()"
    )
    op.execute("REVOKE UPDATE, DELETE, TRUNCATE ON log_checkpoint FROM audit_app")
    op.execute("GRANT SELECT, INSERT ON log_checkpoint TO audit_app")
    op.execute(
        "CREATE TRIGGER log_checkpoint_append_only BEFORE UPDATE OR DELETE ON log_checkpoint "
        "FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()"
    )
    op.execute(
        "CREATE TRIGGER log_checkpoint_no_truncate BEFORE TRUNCATE ON log_checkpoint "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()"
    )


def downgrade() -> None:
    """Revert."""
    op.execute("DROP TABLE IF EXISTS log_checkpoint")
    op.execute("DROP TABLE IF EXISTS log_tile")
    op.execute("DROP FUNCTION IF EXISTS audit_tile_grows_only()")
