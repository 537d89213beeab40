"""When a worker account first saw the notice that its file is computerised.

Revision ID: identity_0021
Revises: identity_0020
Create Date: 2026-12-01

Literal DDL (no application models), so later model changes never rewrite this step.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "identity_0021"
down_revision: str | None = "identity_0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.execute("ALTER TABLE account ADD COLUMN file_notice_seen_at timestamptz")


def downgrade() -> None:
    """Revert."""
    op.execute("ALTER TABLE account DROP COLUMN file_notice_seen_at")
