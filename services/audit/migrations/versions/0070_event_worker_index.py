"""event: no index by worker.

Revision ID: audit_0070
Revises: audit_0060
Create Date: 2026-12-07

Frozen DDL. No query reads the store by worker: a worker's history is read from the
access_entry projection, which has its own index by worker. The store's index by worker cost a
B-tree insert for every event appended (and about 5 % of the store on disk) for nothing.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "audit_0070"
down_revision: str | None = "audit_0060"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.execute("DROP INDEX IF EXISTS ix_event_worker_time")


def downgrade() -> None:
    """Revert."""
    op.execute("CREATE INDEX IF NOT EXISTS ix_event_worker_time ON event (worker_id, occurred_at)")
