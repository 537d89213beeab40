"""The outbox index for rows still waiting for a number (added after the first release).

Revision ID: identity_0003
Revises: identity_0002
Create Date: 2026-11-24

Databases created while identity_0001 itself carried this index already have it: IF NOT EXISTS.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "identity_0003"
down_revision: str | None = "identity_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    # Published rows are kept for resends, so the table only grows: the relay finds the few
    # rows still waiting for a number through this small index, never by scanning the table.
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_outbox_unnumbered ON outbox (id) WHERE source_seq IS NULL"
    )


def downgrade() -> None:
    """Revert."""
    op.execute("DROP INDEX IF EXISTS ix_outbox_unnumbered")
