"""The birth date of each ward of a guardian account: a guardian link ends at the ward's 18th.

Revision ID: identity_0020
Revises: identity_0010
Create Date: 2026-12-01

Literal DDL (no application models), so later model changes never rewrite this step.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "identity_0020"
down_revision: str | None = "identity_0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    # Links made before this step have no birth date and are no longer honoured until the
    # security officer gives one: a link that cannot be shown to concern a minor must not hold.
    op.execute("ALTER TABLE account ADD COLUMN ward_birth_dates jsonb NOT NULL DEFAULT '{}'::jsonb")


def downgrade() -> None:
    """Revert."""
    op.execute("ALTER TABLE account DROP COLUMN ward_birth_dates")
