"""Every table of the identity service, imported so Alembic sees them."""

from common.outbox import Outbox, OutboxCursor
from identity.auth.models import LoginFailure, LoginThrottle, RefreshToken, Session
from identity.grants.models import AccessGrant
from identity.keys.models import SigningKey
from identity.users.models import Account, PasswordHistory

__all__ = [
    "AccessGrant",
    "Account",
    "LoginFailure",
    "LoginThrottle",
    "Outbox",
    "OutboxCursor",
    "PasswordHistory",
    "RefreshToken",
    "Session",
    "SigningKey",
]
