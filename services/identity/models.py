"""Every table of the identity service, imported so Alembic sees them."""

from common.outbox import Outbox, OutboxCursor
from identity.auth.models import RefreshToken, Session
from identity.grants.models import AccessGrant
from identity.keys.models import SigningKey
from identity.users.models import Account, PasswordHistory

__all__ = [
    "AccessGrant",
    "Account",
    "Outbox",
    "OutboxCursor",
    "PasswordHistory",
    "RefreshToken",
    "Session",
    "SigningKey",
]
