"""Register tables: processing activities and versions, DPIA, subject requests, incidents.

Revision ID: register_0002
Revises: register_0001
Create Date: 2026-11-23 09:21:05.535610
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "register_0002"
down_revision: str | None = "register_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "incident",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.String(4000), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("aware_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("worker_id", sa.String(64), nullable=True),
        sa.Column("alert_id", sa.String(64), nullable=True),
        sa.Column("personal_data_breach", sa.Boolean(), nullable=False),
        sa.Column("breach_nature", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("subject_categories", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("approx_subjects", sa.Integer(), nullable=True),
        sa.Column("data_categories", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("approx_records", sa.Integer(), nullable=True),
        sa.Column("likely_consequences", sa.String(4000), nullable=True),
        sa.Column("measures_taken", sa.String(4000), nullable=True),
        sa.Column("dpo_contact", sa.String(200), nullable=True),
        sa.Column("late_reason", sa.String(4000), nullable=True),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("authority_reference", sa.String(200), nullable=True),
        sa.Column("subjects_informed", sa.Boolean(), nullable=True),
        sa.Column("subjects_informed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("subjects_not_informed_reason", sa.String(4000), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident")),
        sa.UniqueConstraint("alert_id", name=op.f("uq_incident_alert_id")),
    )
    op.create_table(
        "processing_activity",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("controller", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("dpo", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("purposes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("legal_basis", sa.String(32), nullable=False),
        sa.Column("special_category_condition", sa.String(500), nullable=True),
        sa.Column(
            "data_subject_categories", postgresql.JSONB(astext_type=sa.Text()), nullable=False
        ),
        sa.Column("data_categories", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("recipients", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("transfers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("retention", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("security_measures", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("review_on", sa.Date(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_processing_activity")),
        sa.UniqueConstraint("name", name=op.f("uq_processing_activity_name")),
    )
    op.create_table(
        "subject_request",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("worker_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("details", sa.String(4000), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("initial_due_on", sa.Date(), nullable=False),
        sa.Column("extended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("extension_reason", sa.String(4000), nullable=True),
        sa.Column("answer", sa.String(4000), nullable=True),
        sa.Column("refusal_reason", sa.String(4000), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("access_history", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("filed_by_profile", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_request")),
    )
    op.create_index(op.f("ix_subject_request_due_on"), "subject_request", ["due_on"], unique=False)
    op.create_index(op.f("ix_subject_request_status"), "subject_request", ["status"], unique=False)
    op.create_index(
        op.f("ix_subject_request_worker_id"), "subject_request", ["worker_id"], unique=False
    )
    op.create_table(
        "dpia",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("activity_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("context", sa.String(4000), nullable=True),
        sa.Column("risks", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("dpo_opinion", sa.String(4000), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("validated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("validated_by", sa.String(64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["processing_activity.id"],
            name=op.f("fk_dpia_activity_id_processing_activity"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dpia")),
    )
    op.create_index(op.f("ix_dpia_activity_id"), "dpia", ["activity_id"], unique=False)
    op.create_table(
        "processing_activity_version",
        sa.Column("activity_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.String(64), nullable=True),
        sa.Column("changed_by_name", sa.String(200), nullable=True),
        sa.Column("changed_fields", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("snapshot", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["processing_activity.id"],
            name=op.f("fk_processing_activity_version_activity_id_processing_activity"),
        ),
        sa.PrimaryKeyConstraint(
            "activity_id", "version", name=op.f("pk_processing_activity_version")
        ),
    )


def downgrade() -> None:
    """Revert."""
    op.drop_table("processing_activity_version")
    op.drop_index(op.f("ix_dpia_activity_id"), table_name="dpia")
    op.drop_table("dpia")
    op.drop_index(op.f("ix_subject_request_worker_id"), table_name="subject_request")
    op.drop_index(op.f("ix_subject_request_status"), table_name="subject_request")
    op.drop_index(op.f("ix_subject_request_due_on"), table_name="subject_request")
    op.drop_table("subject_request")
    op.drop_table("processing_activity")
    op.drop_table("incident")
