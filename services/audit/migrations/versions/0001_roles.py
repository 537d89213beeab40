"""The audit application role: it may read and append, never rewrite.

Revision ID: audit_0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "audit_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.execute(
        """
        DO $$ BEGIN
          IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'audit_app') THEN
            CREATE ROLE audit_app LOGIN;
          END IF;
        END $$
        """
    )
    op.execute("GRANT CONNECT ON DATABASE audit TO audit_app")
    op.execute("GRANT USAGE ON SCHEMA public TO audit_app")
    op.execute(
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT ON TABLES TO audit_app"
    )
    op.execute("ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE ON SEQUENCES TO audit_app")


def downgrade() -> None:
    """Revert."""
    op.execute("ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM audit_app")
    op.execute("ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM audit_app")
    op.execute("REVOKE ALL ON SCHEMA public FROM audit_app")
    op.execute("REVOKE CONNECT ON DATABASE audit FROM audit_app")
