"""Login failures of unknown usernames, login throttle counters, first-login password change.

Revision ID: identity_0010
Revises: identity_0003
Create Date: 2026-12-01

Literal DDL (no application models), so later model changes never rewrite this step.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "identity_0010"
down_revision: str | None = "identity_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    # An unknown username keeps the same lockout state an account keeps on its row, so after
    # three failures it answers exactly as a locked account does (keyed by the normalised name).
    op.execute(
        """
        CREATE TABLE login_failure (
            username varchar(64) NOT NULL,
            failed_attempts integer NOT NULL DEFAULT 0,
            lock_count integer NOT NULL DEFAULT 0,
            locked_until timestamptz,
            updated_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT pk_login_failure PRIMARY KEY (username)
        )
        """
    )
    op.execute("CREATE INDEX ix_login_failure_updated_at ON login_failure (updated_at)")
    # Fixed-window counters of failed logins and refreshes, per client address and per account.
    op.execute(
        """
        CREATE TABLE login_throttle (
            key varchar(160) NOT NULL,
            window_start timestamptz NOT NULL,
            hits integer NOT NULL,
            traced boolean NOT NULL DEFAULT false,
            CONSTRAINT pk_login_throttle PRIMARY KEY (key)
        )
        """
    )
    op.execute("CREATE INDEX ix_login_throttle_window_start ON login_throttle (window_start)")
    # Accounts created by the security officer must change their password at first login;
    # existing accounts are left as they are.
    op.execute(
        "ALTER TABLE account ADD COLUMN password_change_required boolean NOT NULL DEFAULT false"
    )


def downgrade() -> None:
    """Revert."""
    op.execute("ALTER TABLE account DROP COLUMN password_change_required")
    op.execute("DROP TABLE login_throttle")
    op.execute("DROP TABLE login_failure")
