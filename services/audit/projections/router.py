"""POST /admin/rebuild-projections, GET /actor-activity and one actor's entries."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel
from sqlalchemy import select
from sqlmodel import col

from audit.access import Monitor, sees_medical
from audit.history.router import check_period
from audit.history.schemas import AccessEntryRead
from audit.history.service import entry_read
from audit.projections.models import AccessEntry, ActorActivity
from audit.projections.service import rebuild
from common.db import SessionDep
from common.events import Resource
from common.trail import TracedEvents

router = APIRouter(tags=["projections"])


class RebuildRead(BaseModel):
    """What a replay did."""

    events_replayed: int
    duration_ms: float


class ActorActivityRead(BaseModel):
    """Totals of one actor."""

    user_id: str
    username: str
    display_name: str
    profile: str
    events: int
    denied: int
    file_accesses: int
    first_at: datetime
    last_at: datetime


@router.post(
    "/admin/rebuild-projections",
    response_model=RebuildRead,
    summary="Replay the whole store into the projections",
)
async def rebuild_projections(
    request: Request, session: SessionDep, principal: Monitor, events: TracedEvents
) -> RebuildRead:
    """Histories, actor activity, alerts, gaps and source totals, rebuilt from the store."""
    started = time.perf_counter()
    count = await rebuild(session, request.app.state.settings.rules())
    await events.emit(
        events.draft(
            "rebuild_projections",
            resource=Resource(type="projections"),
            details={"events_replayed": count},
        )
    )
    return RebuildRead(
        events_replayed=count, duration_ms=round((time.perf_counter() - started) * 1000, 1)
    )


@router.get(
    "/actor-activity",
    response_model=list[ActorActivityRead],
    summary="Per-actor activity, most recent first",
)
async def actor_activity(
    session: SessionDep,
    principal: Monitor,
    events: TracedEvents,
    profile: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ActorActivityRead]:
    """Who did how much, with their denials."""
    query = select(ActorActivity)
    if profile:
        query = query.where(col(ActorActivity.profile) == profile)
    query = query.order_by(col(ActorActivity.last_at).desc()).limit(limit)
    rows = [
        ActorActivityRead.model_validate(r, from_attributes=True)
        for r in (await session.execute(query)).scalars()
    ]
    await events.emit(
        events.draft(
            "read_actor_activity",
            resource=Resource(type="actor_activity", part=profile),
            details={"entries": len(rows)},
        )
    )
    return rows


class ActorEntryRead(AccessEntryRead):
    """One access by the actor, with the file it touched."""

    worker_id: str


class ActorEntriesPage(BaseModel):
    """What one staff member did to files over a period, newest first."""

    user_id: str
    items: list[ActorEntryRead]
    truncated: bool


@router.get(
    "/actor-activity/{user_id}/entries",
    response_model=ActorEntriesPage,
    summary="What one staff member did to files over a period, newest first",
)
async def actor_entries(
    session: SessionDep,
    principal: Monitor,
    events: TracedEvents,
    user_id: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")],
    since: Annotated[datetime | None, Query(alias="from", description="inclusive")] = None,
    until: Annotated[datetime | None, Query(alias="to", description="exclusive")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> ActorEntriesPage:
    """Every access entry of the actor (read, print, export, search, denials...); medical
    details only for the medical director."""
    check_period(since, until)  # the same checks as a history's period (timezones, order)
    query = select(AccessEntry).where(col(AccessEntry.actor_user_id) == user_id)
    if since is not None:
        query = query.where(col(AccessEntry.occurred_at) >= since)
    if until is not None:
        query = query.where(col(AccessEntry.occurred_at) < until)
    query = query.order_by(col(AccessEntry.occurred_at).desc()).limit(limit + 1)
    rows = list((await session.execute(query)).scalars())
    medical = sees_medical(principal)
    items = [
        ActorEntryRead(**entry_read(r, with_details=medical).model_dump(), worker_id=r.worker_id)
        for r in rows[:limit]
    ]
    await events.emit(
        events.draft(
            "read_actor_entries",
            resource=Resource(type="actor_activity", id=user_id),
            details={"entries": len(items)},
        )
    )
    return ActorEntriesPage(user_id=user_id, items=items, truncated=len(rows) > limit)
