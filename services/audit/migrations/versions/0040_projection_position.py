"""the projector's own position: projections fold the store by position, apart from ingestion.

Revision ID: audit_0040
Revises: audit_0030
Create Date: 2026-12-01

Frozen DDL: literal SQL, no import of the app's models. Consumers now only append; a projector
reads the store by position and moves projection_position in the transaction of the rows it
writes. Projections built before this revision were folded with their events, so the position
starts at the store's head. access_entry.projected_at says when an entry was projected.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "audit_0040"
down_revision: str | None = "audit_0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.execute(
        """
        CREATE TABLE IF NOT EXISTS projection_position (
            name VARCHAR(32) NOT NULL,
            position BIGINT NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL,
            CONSTRAINT projection_position_pkey PRIMARY KEY (name)
        )
        """
    )
    op.execute(
        "INSERT INTO projection_position (name, position, updated_at) "
        "SELECT 'projections', coalesce(max(position), 0), now() FROM event "
        "ON CONFLICT DO NOTHING"
    )
    op.execute("GRANT SELECT, INSERT, UPDATE ON projection_position TO audit_app")
    op.execute("ALTER TABLE access_entry ADD COLUMN IF NOT EXISTS projected_at TIMESTAMPTZ")


def downgrade() -> None:
    """Revert."""
    op.execute("ALTER TABLE access_entry DROP COLUMN IF EXISTS projected_at")
    op.execute("DROP TABLE IF EXISTS projection_position")
