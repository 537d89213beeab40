"""Identity's events: who acted, from where, written to the outbox in the request's transaction."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from common.outbox import record_event
from common.tokens import Principal
from identity.users.models import Account

SOURCE = "identity"


def actor_of(who: Account | Principal | None) -> dict[str, str] | None:
    """The envelope's actor for an account or a verified caller."""
    if who is None:
        return None
    if isinstance(who, Principal):
        return {
            "user_id": who.user_id,
            "username": who.username,
            "display_name": who.display_name,
            "profile": who.profile.value,
        }
    return {
        "user_id": str(who.id),
        "username": who.username,
        "display_name": who.display_name,
        "profile": who.profile,
    }


def client_of(request: Request | None) -> dict[str, str | None]:
    """The caller's address and user agent."""
    if request is None:
        return {"ip": None, "user_agent": None}
    return {
        "ip": request.client.host if request.client else None,
        "user_agent": (request.headers.get("user-agent") or "")[:255] or None,
    }


def account_resource(account: Account) -> dict[str, str]:
    """The resource block for an account."""
    return {"type": "account", "id": str(account.id), "part": None}


async def emit(
    session: AsyncSession,
    action: str,
    *,
    actor: Account | Principal | None,
    request: Request | None = None,
    outcome: str = "success",
    worker_id: str | None = None,
    resource: dict[str, Any] | None = None,
    purpose: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Write one identity event (topic auth-events) in the caller's transaction."""
    await record_event(
        session,
        source=SOURCE,
        action=action,
        outcome=outcome,
        actor=actor_of(actor),
        worker_id=worker_id,
        resource=resource,
        purpose=purpose,
        client=client_of(request),
        details=details,
    )
