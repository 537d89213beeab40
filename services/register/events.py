"""Register events: every change goes to the outbox in the request's transaction."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from common.outbox import record_event
from common.tokens import Principal
from register.access import actor_of

SOURCE = "register"
_client: ContextVar[dict[str, str | None] | None] = ContextVar("register_client", default=None)


async def remember_client(request: Request) -> None:
    """Router dependency: keep the caller's address and browser for the events of this request."""
    _client.set(
        {
            "ip": request.client.host if request.client else None,
            "user_agent": (request.headers.get("user-agent") or "")[:256] or None,
        }
    )


async def publish(
    session: AsyncSession,
    principal: Principal,
    action: str,
    *,
    resource_type: str,
    resource_id: object,
    worker_id: str | None = None,
    part: str | None = None,
    details: dict[str, Any] | None = None,
    purpose: str | None = None,
) -> None:
    """Write one register event (topic register-events) in the caller's transaction."""
    await record_event(
        session,
        source=SOURCE,
        action=action,
        actor=actor_of(principal),
        worker_id=worker_id,
        resource={"type": resource_type, "id": str(resource_id), "part": part},
        purpose=purpose,
        details=details,
        client=_client.get(),
    )
