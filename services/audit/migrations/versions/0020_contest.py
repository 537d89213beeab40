"""contest: a worker's contest of one access on their history (append-only).

Revision ID: audit_0020
Revises: audit_0012
Create Date: 2026-12-01

Frozen DDL: literal SQL, no import of the app's models. A contest never changes once stored; its
status is the answer of the data-subject request it filed in the register.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "audit_0020"
down_revision: str | None = "audit_0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.execute(
        """
        CREATE TABLE IF NOT EXISTS contest (
            id UUID PRIMARY KEY,
            event_id UUID NOT NULL,
            worker_id VARCHAR(64) NOT NULL,
            contested_by VARCHAR(64) NOT NULL,
            reason TEXT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL,
            event_occurred_at TIMESTAMPTZ NOT NULL,
            event_actor_name VARCHAR(200),
            audit_event_id UUID NOT NULL,
            subject_request_id UUID NOT NULL,
            incident_id UUID NOT NULL,
            alert_id UUID NOT NULL,
            assessment_due_at TIMESTAMPTZ NOT NULL,
            answer_due_on DATE,
            CONSTRAINT contest_event_id_key UNIQUE (event_id)
        )
        """
    )
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_contest_worker_time ON contest (worker_id, created_at)"
    )
    op.execute("GRANT SELECT, INSERT ON contest TO audit_app")
    op.execute("REVOKE UPDATE, DELETE, TRUNCATE ON contest FROM audit_app")
    op.execute("DROP TRIGGER IF EXISTS contest_append_only ON contest")
    op.execute(
        "CREATE TRIGGER contest_append_only BEFORE UPDATE OR DELETE ON contest "
        "FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()"
    )


def downgrade() -> None:
    """Revert."""
    op.execute("DROP TABLE IF EXISTS contest")
