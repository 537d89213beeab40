"""Retention that acts (legal holds, erasure batches, erasures) and rectification tasks.

Revision ID: records_0004
Revises: records_0003
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "records_0004"
down_revision: str | None = "records_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "legal_hold",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("worker_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.String(length=2000), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("placed_by", sa.String(length=64), nullable=False),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lifted_by", sa.String(length=64), nullable=True),
        sa.Column("lift_reason", sa.String(length=2000), nullable=True),
        sa.ForeignKeyConstraint(
            ["worker_id"], ["worker.id"], name=op.f("fk_legal_hold_worker_id_worker")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_hold")),
    )
    op.create_index(op.f("ix_legal_hold_worker_id"), "legal_hold", ["worker_id"], unique=False)
    op.create_table(
        "erasure_batch",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "worker_ids",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("proposed_by", sa.String(length=64), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_by", sa.String(length=64), nullable=True),
        sa.Column("approved_by_name", sa.String(length=200), nullable=True),
        sa.Column("approval_comment", sa.String(length=2000), nullable=True),
        sa.Column(
            "outcome", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasure_batch")),
    )
    op.create_index(op.f("ix_erasure_batch_status"), "erasure_batch", ["status"], unique=False)
    op.create_table(
        "erasure",
        sa.Column("worker_id", sa.Uuid(), nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("employment_end", sa.Date(), nullable=False),
        sa.Column("term_ended_on", sa.Date(), nullable=False),
        sa.Column("years_after_employment", sa.Integer(), nullable=False),
        sa.Column("approved_by", sa.String(length=64), nullable=False),
        sa.Column(
            "copies", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["erasure_batch.id"], name=op.f("fk_erasure_batch_id_erasure_batch")
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"], ["worker.id"], name=op.f("fk_erasure_worker_id_worker")
        ),
        sa.PrimaryKeyConstraint("worker_id", name=op.f("pk_erasure")),
    )
    op.create_index(op.f("ix_erasure_batch_id"), "erasure", ["batch_id"], unique=False)
    op.create_table(
        "rectification_task",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject_request_id", sa.Uuid(), nullable=False),
        sa.Column("worker_id", sa.Uuid(), nullable=False),
        sa.Column("details", sa.String(length=4000), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("correction", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.ForeignKeyConstraint(
            ["worker_id"], ["worker.id"], name=op.f("fk_rectification_task_worker_id_worker")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rectification_task")),
        sa.UniqueConstraint(
            "subject_request_id", name=op.f("uq_rectification_task_subject_request_id")
        ),
    )
    op.create_index(
        op.f("ix_rectification_task_status"), "rectification_task", ["status"], unique=False
    )
    op.create_index(
        op.f("ix_rectification_task_worker_id"), "rectification_task", ["worker_id"], unique=False
    )


def downgrade() -> None:
    """Revert."""
    op.drop_index(op.f("ix_rectification_task_worker_id"), table_name="rectification_task")
    op.drop_index(op.f("ix_rectification_task_status"), table_name="rectification_task")
    op.drop_table("rectification_task")
    op.drop_index(op.f("ix_erasure_batch_id"), table_name="erasure")
    op.drop_table("erasure")
    op.drop_index(op.f("ix_erasure_batch_status"), table_name="erasure_batch")
    op.drop_table("erasure_batch")
    op.drop_index(op.f("ix_legal_hold_worker_id"), table_name="legal_hold")
    op.drop_table("legal_hold")
