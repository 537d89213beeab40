"""Accounts, password history, signing keys, sessions, refresh tokens, access grants.

Revision ID: identity_0002
Revises: identity_0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "identity_0002"
down_revision: str | None = "identity_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PROFILES = (
    "physician",
    "assistant",
    "developer",
    "helpdesk",
    "admin_staff",
    "medical_director",
    "security_officer",
    "worker",
)

# When this revision first ran, the live metadata's "ck" naming convention prefixed the check
# constraints' names once more; op.f freezes the names as they were created.


def _tz(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "account",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("profile", sa.String(32), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("worker_id", sa.String(64), nullable=True),
        sa.Column("guardian_of", postgresql.ARRAY(sa.String(64)), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        _tz("password_changed_at", nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("lock_count", sa.Integer(), nullable=False),
        _tz("locked_until"),
        sa.Column("password_checks", sa.BigInteger(), nullable=False),
        _tz("last_login_at"),
        _tz("created_at", nullable=False),
        sa.Column("created_by", sa.String(64), nullable=True),
        _tz("updated_at", nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_account"),
        sa.UniqueConstraint("username", name="uq_account_username"),
        sa.CheckConstraint(
            "profile IN (" + ", ".join(f"'{p}'" for p in PROFILES) + ")",
            name=op.f("ck_account_ck_account_profile"),
        ),
        sa.CheckConstraint(
            "worker_id IS NULL OR profile = 'worker'",
            name=op.f("ck_account_ck_account_worker_id_profile"),
        ),
    )
    op.create_index("ix_account_profile", "account", ["profile"])
    op.create_index("ix_account_worker_id", "account", ["worker_id"])

    op.create_table(
        "password_history",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        _tz("created_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_password_history"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name="fk_password_history_account_id_account"
        ),
    )
    op.create_index("ix_password_history_account_id", "password_history", ["account_id"])

    op.create_table(
        "signing_key",
        sa.Column("kid", sa.String(64), nullable=False),
        sa.Column("algorithm", sa.String(16), nullable=False),
        sa.Column("private_pem", sa.String(), nullable=False),
        sa.Column("public_pem", sa.String(), nullable=False),
        _tz("created_at", nullable=False),
        _tz("retired_at"),
        sa.PrimaryKeyConstraint("kid", name="pk_signing_key"),
    )

    op.create_table(
        "session",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        _tz("created_at", nullable=False),
        _tz("last_seen_at", nullable=False),
        _tz("expires_at", nullable=False),
        _tz("ended_at"),
        sa.Column("end_reason", sa.String(32), nullable=True),
        sa.Column("client_ip", sa.String(64), nullable=True),
        sa.Column("user_agent", sa.String(255), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_session"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name="fk_session_account_id_account"
        ),
    )
    op.create_index("ix_session_account_id", "session", ["account_id"])

    op.create_table(
        "refresh_token",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        _tz("created_at", nullable=False),
        _tz("used_at"),
        _tz("revoked_at"),
        sa.PrimaryKeyConstraint("id", name="pk_refresh_token"),
        sa.UniqueConstraint("token_hash", name="uq_refresh_token_token_hash"),
        sa.ForeignKeyConstraint(
            ["session_id"], ["session.id"], name="fk_refresh_token_session_id_session"
        ),
    )
    op.create_index("ix_refresh_token_session_id", "refresh_token", ["session_id"])

    op.create_table(
        "access_grant",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("grantee_id", sa.Uuid(), nullable=False),
        sa.Column("worker_id", sa.String(64), nullable=True),
        sa.Column("reason", sa.String(1000), nullable=False),
        sa.Column("granted_by", sa.Uuid(), nullable=False),
        _tz("created_at", nullable=False),
        _tz("expires_at", nullable=False),
        _tz("revoked_at"),
        sa.Column("revoked_by", sa.Uuid(), nullable=True),
        _tz("expiry_traced_at"),
        sa.PrimaryKeyConstraint("id", name="pk_access_grant"),
        sa.ForeignKeyConstraint(
            ["grantee_id"], ["account.id"], name="fk_access_grant_grantee_id_account"
        ),
        sa.ForeignKeyConstraint(
            ["granted_by"], ["account.id"], name="fk_access_grant_granted_by_account"
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by"], ["account.id"], name="fk_access_grant_revoked_by_account"
        ),
        sa.CheckConstraint(
            "expires_at > created_at", name=op.f("ck_access_grant_ck_access_grant_expires_after")
        ),
    )
    op.create_index("ix_access_grant_grantee_id", "access_grant", ["grantee_id"])
    op.create_index("ix_access_grant_expires_at", "access_grant", ["expires_at"])


def downgrade() -> None:
    """Revert."""
    for table in (
        "access_grant",
        "refresh_token",
        "session",
        "signing_key",
        "password_history",
        "account",
    ):
        op.drop_table(table)
