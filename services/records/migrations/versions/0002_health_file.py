"""The health file: workers, exposures, care team, exams, fitness, labs, notes, movements.

Revision ID: records_0002
Revises: records_0001
Create Date: 2026-11-23

Frozen as first released: the signing_key table became bundle_key in records_0003.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "records_0002"
down_revision: str | None = "records_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "revision",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=False),
        sa.Column("worker_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("created_by_name", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revision")),
        sa.UniqueConstraint("entity", "entity_id", "version", name=op.f("uq_revision_entity")),
    )
    op.create_index(op.f("ix_revision_entity_id"), "revision", ["entity_id"], unique=False)
    op.create_index(op.f("ix_revision_worker_id"), "revision", ["worker_id"], unique=False)
    op.create_table(
        "signing_key",
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("private_pem", sa.Text(), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_signing_key")),
    )
    op.create_table(
        "worker",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("first_name", sa.String(length=100), nullable=False),
        sa.Column("last_name", sa.String(length=100), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("employer", sa.String(length=200), nullable=False),
        sa.Column("department", sa.String(length=200), nullable=True),
        sa.Column("job_title", sa.String(length=200), nullable=True),
        sa.Column("employment_start", sa.Date(), nullable=True),
        sa.Column("employment_end", sa.Date(), nullable=True),
        sa.Column("guardian_name", sa.String(length=200), nullable=True),
        sa.Column(
            "surveillance_reasons",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.Column("imported_from", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worker")),
    )
    op.create_index(op.f("ix_worker_employer"), "worker", ["employer"], unique=False)
    op.create_index(op.f("ix_worker_last_name"), "worker", ["last_name"], unique=False)
    op.execute(
        "CREATE INDEX ix_worker_lower_last_name ON worker (lower(last_name) text_pattern_ops)"
    )
    op.create_table(
        "care_member",
        sa.Column("worker_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["worker_id"], ["worker.id"], name=op.f("fk_care_member_worker_id_worker")
        ),
        sa.PrimaryKeyConstraint("worker_id", "user_id", name=op.f("pk_care_member")),
    )
    op.create_index(op.f("ix_care_member_user_id"), "care_member", ["user_id"], unique=False)
    op.create_table(
        "exam",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("worker_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("performed_on", sa.Date(), nullable=False),
        sa.Column("physician_id", sa.String(length=64), nullable=True),
        sa.Column("physician_name", sa.String(length=200), nullable=True),
        sa.Column("findings", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "diagnoses",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.Column("third_party_info", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["worker_id"], ["worker.id"], name=op.f("fk_exam_worker_id_worker")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exam")),
    )
    op.create_index(op.f("ix_exam_worker_id"), "exam", ["worker_id"], unique=False)
    op.create_table(
        "exposure",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("worker_id", sa.Uuid(), nullable=False),
        sa.Column("agent", sa.String(length=32), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("started_on", sa.Date(), nullable=True),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["worker_id"], ["worker.id"], name=op.f("fk_exposure_worker_id_worker")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exposure")),
    )
    op.create_index(op.f("ix_exposure_worker_id"), "exposure", ["worker_id"], unique=False)
    op.create_table(
        "lab_result",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("worker_id", sa.Uuid(), nullable=False),
        sa.Column("test", sa.String(length=200), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=50), nullable=True),
        sa.Column("reference_range", sa.String(length=100), nullable=True),
        sa.Column("laboratory", sa.String(length=200), nullable=True),
        sa.Column("sampled_on", sa.Date(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["worker_id"], ["worker.id"], name=op.f("fk_lab_result_worker_id_worker")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lab_result")),
    )
    op.create_index(op.f("ix_lab_result_worker_id"), "lab_result", ["worker_id"], unique=False)
    op.create_table(
        "movement",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("worker_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=False),
        sa.Column("actor_name", sa.String(length=200), nullable=False),
        sa.Column("actor_profile", sa.String(length=32), nullable=False),
        sa.Column(
            "details", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"], ["worker.id"], name=op.f("fk_movement_worker_id_worker")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_movement")),
    )
    op.create_index(op.f("ix_movement_worker_id"), "movement", ["worker_id"], unique=False)
    op.create_table(
        "note",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("worker_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.String(length=64), nullable=False),
        sa.Column("author_name", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["worker_id"], ["worker.id"], name=op.f("fk_note_worker_id_worker")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_note")),
    )
    op.create_index(op.f("ix_note_author_id"), "note", ["author_id"], unique=False)
    op.create_index(op.f("ix_note_worker_id"), "note", ["worker_id"], unique=False)
    op.create_table(
        "fitness_decision",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("worker_id", sa.Uuid(), nullable=False),
        sa.Column("exam_id", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=32), nullable=False),
        sa.Column("job", sa.String(length=200), nullable=True),
        sa.Column("restrictions", sa.Text(), nullable=True),
        sa.Column("review_on", sa.Date(), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("physician_id", sa.String(length=64), nullable=True),
        sa.Column("physician_name", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["exam_id"], ["exam.id"], name=op.f("fk_fitness_decision_exam_id_exam")
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"], ["worker.id"], name=op.f("fk_fitness_decision_worker_id_worker")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fitness_decision")),
    )
    op.create_index(
        op.f("ix_fitness_decision_worker_id"), "fitness_decision", ["worker_id"], unique=False
    )


def downgrade() -> None:
    """Revert."""
    op.drop_index(op.f("ix_fitness_decision_worker_id"), table_name="fitness_decision")
    op.drop_table("fitness_decision")
    op.drop_index(op.f("ix_note_worker_id"), table_name="note")
    op.drop_index(op.f("ix_note_author_id"), table_name="note")
    op.drop_table("note")
    op.drop_index(op.f("ix_movement_worker_id"), table_name="movement")
    op.drop_table("movement")
    op.drop_index(op.f("ix_lab_result_worker_id"), table_name="lab_result")
    op.drop_table("lab_result")
    op.drop_index(op.f("ix_exposure_worker_id"), table_name="exposure")
    op.drop_table("exposure")
    op.drop_index(op.f("ix_exam_worker_id"), table_name="exam")
    op.drop_table("exam")
    op.drop_index(op.f("ix_care_member_user_id"), table_name="care_member")
    op.drop_table("care_member")
    op.drop_index(op.f("ix_worker_last_name"), table_name="worker")
    op.drop_index(op.f("ix_worker_employer"), table_name="worker")
    op.drop_table("worker")
    op.drop_table("signing_key")
    op.drop_index(op.f("ix_revision_worker_id"), table_name="revision")
    op.drop_index(op.f("ix_revision_entity_id"), table_name="revision")
    op.drop_table("revision")
