"""The transactional outbox of the identity service.

Revision ID: identity_0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from common.outbox import create_outbox_tables, drop_outbox_tables

revision: str = "identity_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    create_outbox_tables()


def downgrade() -> None:
    """Revert."""
    drop_outbox_tables()
