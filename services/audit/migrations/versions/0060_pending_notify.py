"""pending_event notifies its consumers at commit.

Revision ID: audit_0060
Revises: audit_0050
Create Date: 2026-12-02

Frozen DDL. The consumer looked for the audit service's own drafts twice per loop, a transaction
of four round trips each, nearly always to find none. A statement trigger sends one NOTIFY per
inserting transaction (delivered at commit, folded into one per channel), so the consumer only
looks when told, and on a slow timer in case a notice was lost.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "audit_0060"
down_revision: str | None = "audit_0050"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOTIFY_PENDING = """
CREATE OR REPLACE FUNCTION audit_pending_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('audit_pending', '');
  RETURN NULL;
END $$;
"""


def upgrade() -> None:
    """Apply."""
    op.execute(NOTIFY_PENDING)
    op.execute(
        "CREATE TRIGGER pending_event_notify AFTER INSERT ON pending_event "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_pending_notify()"
    )


def downgrade() -> None:
    """Revert."""
    op.execute("DROP TRIGGER IF EXISTS pending_event_notify ON pending_event")
    op.execute("DROP FUNCTION IF EXISTS audit_pending_notify()")
