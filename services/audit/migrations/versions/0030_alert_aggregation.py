"""alert aggregation and triage: one open alert per (rule, actor, worker or window).

Revision ID: audit_0030
Revises: audit_0020
Create Date: 2026-12-01

Frozen DDL: literal SQL, no import of the app's models. An alert now counts the events behind
it (first and last), links them in alert_event, and carries its triage: who it is assigned to,
and its resolution (justified or abuse, with a comment and the incident it opened).
closed_position is the store position of the alert_resolved event, set by the consumer only:
events stored before it still count on the alert, so a replay merges exactly as live did.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "audit_0030"
down_revision: str | None = "audit_0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.execute(
        """
        ALTER TABLE alert
            ADD COLUMN IF NOT EXISTS count INTEGER NOT NULL DEFAULT 1,
            ADD COLUMN IF NOT EXISTS last_event_id UUID,
            ADD COLUMN IF NOT EXISTS last_at TIMESTAMPTZ,
            ADD COLUMN IF NOT EXISTS assigned_to VARCHAR(200),
            ADD COLUMN IF NOT EXISTS assigned_at TIMESTAMPTZ,
            ADD COLUMN IF NOT EXISTS assigned_by VARCHAR(200),
            ADD COLUMN IF NOT EXISTS resolution VARCHAR(16),
            ADD COLUMN IF NOT EXISTS resolved_by VARCHAR(200),
            ADD COLUMN IF NOT EXISTS resolution_comment TEXT,
            ADD COLUMN IF NOT EXISTS incident_id UUID,
            ADD COLUMN IF NOT EXISTS closed_position BIGINT
        """
    )
    op.execute(
        "UPDATE alert SET last_event_id = event_id, last_at = occurred_at WHERE last_at IS NULL"
    )
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_alert_open_key ON alert (kind, actor_user_id, worker_id) "
        "WHERE closed_position IS NULL"
    )
    op.execute(
        """
        CREATE TABLE IF NOT EXISTS alert_event (
            alert_id UUID NOT NULL,
            event_id UUID NOT NULL,
            position BIGINT NOT NULL,
            occurred_at TIMESTAMPTZ NOT NULL,
            CONSTRAINT alert_event_pkey PRIMARY KEY (alert_id, event_id)
        )
        """
    )
    op.execute(
        "INSERT INTO alert_event (alert_id, event_id, position, occurred_at) "
        "SELECT id, event_id, position, occurred_at FROM alert WHERE event_id IS NOT NULL "
        "ON CONFLICT DO NOTHING"
    )
    op.execute("GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON alert_event TO audit_app")


def downgrade() -> None:
    """Revert."""
    op.execute("DROP TABLE IF EXISTS alert_event")
    op.execute("DROP INDEX IF EXISTS ix_alert_open_key")
    op.execute(
        """
        ALTER TABLE alert
            DROP COLUMN IF EXISTS count, DROP COLUMN IF EXISTS last_event_id,
            DROP COLUMN IF EXISTS last_at, DROP COLUMN IF EXISTS assigned_to,
            DROP COLUMN IF EXISTS assigned_at, DROP COLUMN IF EXISTS assigned_by,
            DROP COLUMN IF EXISTS resolution, DROP COLUMN IF EXISTS resolved_by,
            DROP COLUMN IF EXISTS resolution_comment, DROP COLUMN IF EXISTS incident_id,
            DROP COLUMN IF EXISTS closed_position
        """
    )
