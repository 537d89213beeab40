"""What a data-subject request produced: the worker's copy of the file and the resolution.

Revision ID: register_0005
Revises: register_0004
Create Date: 2026-12-01

- file_copy: the PDF and the signed bundle records produced for an access request's answer.
- resolution: the retention check of an erasure request, or the rectification task and the
  new version that closed a rectification request.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "register_0005"
down_revision: str | None = "register_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.add_column(
        "subject_request",
        sa.Column("file_copy", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.add_column(
        "subject_request",
        sa.Column("resolution", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )


def downgrade() -> None:
    """Revert."""
    op.drop_column("subject_request", "resolution")
    op.drop_column("subject_request", "file_copy")
