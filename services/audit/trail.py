"""The audit service's own trail through common.trail: `events: EventContext` works here too.

Drafts go to `pending_event` (the audit service never publishes on the broker); the consumer
chains them into the store like every other event (common.trail's sink protocol)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence

from fastapi import FastAPI
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audit.ingest.models import PendingEvent
from common.db import utcnow
from common.events import EventDraft
from common.trail import Trail

PENDING = PendingEvent.__table__  # type: ignore[attr-defined]


def pending_row(draft: EventDraft) -> dict[str, object]:
    """The pending_event row of a draft (the shape `record_audit` writes)."""
    return {"event_id": draft.event_id, "draft": draft.payload(), "created_at": utcnow()}


class PendingSink:
    """Writes drafts to pending_event: in the request's transaction, or committed at once."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    async def write(self, session: AsyncSession, drafts: Sequence[EventDraft]) -> None:
        """Durable when the request commits."""
        await session.execute(insert(PENDING), [pending_row(d) for d in drafts])

    async def write_now(self, drafts: Sequence[EventDraft]) -> None:
        """Durable when this returns (denied attempts: the request itself rolls back)."""
        async with self.sessionmaker() as session:
            await session.execute(insert(PENDING), [pending_row(d) for d in drafts])
            await session.commit()


@contextlib.asynccontextmanager
async def audit_trail(app: FastAPI) -> AsyncIterator[None]:
    """Lifespan hook: app.state.trail for the audit service (source "audit")."""
    app.state.trail = Trail("audit", PendingSink(app.state.sessionmaker))
    yield
