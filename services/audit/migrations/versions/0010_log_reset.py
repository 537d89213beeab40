"""Broker log resets: a fingerprint with each saved position, and the resets detected.

Frozen literal DDL: this revision never imports the app's models.

Revision ID: audit_0010_log_reset
Revises: audit_0003
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "audit_0010_log_reset"
down_revision: str | None = "audit_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.execute("ALTER TABLE consumer_position ADD COLUMN fingerprint varchar(64)")
    op.execute(
        """
        CREATE TABLE log_reset (
            id bigserial PRIMARY KEY,
            topic varchar(64) NOT NULL,
            partition integer NOT NULL,
            saved_offset bigint NOT NULL,
            earliest_offset bigint NOT NULL,
            end_offset bigint NOT NULL,
            reason text NOT NULL,
            detected_at timestamptz NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX ix_log_reset_detected_at ON log_reset (detected_at)")
    # The consumer (app role) appends resets; nobody rewrites them.
    op.execute("GRANT SELECT, INSERT ON log_reset TO audit_app")
    op.execute("GRANT USAGE ON SEQUENCE log_reset_id_seq TO audit_app")


def downgrade() -> None:
    """Revert."""
    op.execute("DROP TABLE log_reset")
    op.execute("ALTER TABLE consumer_position DROP COLUMN fingerprint")
