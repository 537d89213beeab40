"""checkpoint_key keeps public keys only: the private key becomes a secret of the consumer.

Revision ID: audit_0012
Revises: audit_0011
Create Date: 2026-11-25

The checkpoint signing key used to be generated into this table, which the application role
reads: anyone holding the app's credentials could sign checkpoints. The consumer now gets the
key from AUDIT_CHECKPOINT_KEY_FILE / AUDIT_CHECKPOINT_KEY. A key that sat here is treated as
exposed and retired, not exported: its private half is dropped, its public half stays, so
every checkpoint it signed still verifies; the next start records the new key's public half.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "audit_0012"
down_revision: str | None = "audit_0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.execute("ALTER TABLE checkpoint_key DROP COLUMN IF EXISTS private_pem")


def downgrade() -> None:
    """Revert (the dropped private keys do not come back; the column is left empty)."""
    op.execute("ALTER TABLE checkpoint_key ADD COLUMN IF NOT EXISTS private_pem TEXT")
