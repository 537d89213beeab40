"""The audit service's own trail: drafts wait in pending_event until the consumer chains them.

The audit service does not publish on the broker (an event of source "audit" arriving from the
broker would be a forgery): its sink is the pending table of its own database."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

from fastapi import FastAPI
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audit.ingest.models import PendingEvent
from audit.tables import table_of
from common.db import utcnow
from common.events import EventDraft
from common.trail import Trail

PENDING = table_of(PendingEvent)


def pending_rows(drafts: Sequence[EventDraft]) -> list[dict[str, Any]]:
    """The pending_event rows of drafts (the draft kept as its JSON payload)."""
    now = utcnow()
    return [{"event_id": d.event_id, "draft": d.payload(), "created_at": now} for d in drafts]


def draft_of(document: dict[str, Any]) -> EventDraft:
    """A pending row's draft back as a model (rows written before drafts were typed included)."""
    fields = {k: v for k, v in document.items() if k != "schema"}
    fields.setdefault("source", "audit")
    return EventDraft.model_validate(fields)


class PendingSink:
    """Writes the audit service's drafts into pending_event."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    async def write(self, session: AsyncSession, drafts: Sequence[EventDraft]) -> None:
        """In the request's transaction: durable with what the request commits."""
        await session.execute(insert(PENDING), pending_rows(drafts))

    async def write_now(self, drafts: Sequence[EventDraft]) -> None:
        """In a transaction of its own (a refused attempt has no transaction to join)."""
        async with self.sessionmaker() as session, session.begin():
            await self.write(session, drafts)


@contextlib.asynccontextmanager
async def audit_trail(app: FastAPI) -> AsyncIterator[None]:
    """Lifespan hook: app.state.trail, so routes emit and every 403 leaves a denied event."""
    app.state.trail = Trail("audit", PendingSink(app.state.sessionmaker))
    yield
