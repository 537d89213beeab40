"""gap.missing: how many events of a gap are still missing (a countdown, added after release).

Revision ID: audit_0003
Revises: audit_0002
Create Date: 2026-11-24

Databases created while audit_0002 itself carried the column already have it, so every step is
idempotent. Gaps recorded before the column existed are given their count from the store: none
for a resolved gap, otherwise the range less the numbers the store already holds.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "audit_0003"
down_revision: str | None = "audit_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.execute("ALTER TABLE gap ADD COLUMN IF NOT EXISTS missing BIGINT")
    op.execute(
        """
        UPDATE gap SET missing = CASE
          WHEN resolved_at IS NOT NULL THEN 0
          ELSE greatest(0, to_seq - from_seq + 1 - (
            SELECT count(DISTINCT e.source_seq) FROM event e
            WHERE e.source = gap.source AND e.source_seq BETWEEN gap.from_seq AND gap.to_seq
          ))
        END
        WHERE missing IS NULL
        """
    )
    op.execute("ALTER TABLE gap ALTER COLUMN missing SET NOT NULL")


def downgrade() -> None:
    """Revert."""
    op.execute("ALTER TABLE gap DROP COLUMN IF EXISTS missing")
