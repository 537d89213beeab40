"""The per-actor activity projection."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from audit.core.folding import actor_delta
from audit.core.models import StoredEvent
from audit.projections.models import ActorActivity
from audit.tables import table_of

ACTOR = table_of(ActorActivity)


def merge(actors: dict[str, dict[str, Any]], delta: dict[str, Any]) -> None:
    """Add one event's increment to the batch's totals of its actor."""
    known = actors.get(delta["user_id"])
    if known is None:
        actors[delta["user_id"]] = dict(delta)
        return
    for name in ("events", "denied", "file_accesses"):
        known[name] += delta[name]
    for name in ("username", "display_name", "profile"):
        known[name] = delta[name]
    known["first_at"] = min(known["first_at"], delta["first_at"])
    known["last_at"] = max(known["last_at"], delta["last_at"])


def decide(batch: Sequence[StoredEvent]) -> list[dict[str, Any]]:
    """One increment row per actor of the batch (pure)."""
    actors: dict[str, dict[str, Any]] = {}
    for item in batch:
        delta = actor_delta(item)
        if delta is not None:
            merge(actors, delta)
    return list(actors.values())


async def apply(session: AsyncSession, batch: Sequence[StoredEvent]) -> list[dict[str, Any]]:
    """Nothing to load (the upsert adds): decide the increments, write them; returns them."""
    rows = decide(batch)
    if not rows:
        return rows
    # One cached statement run for many rows: a multi-row VALUES is compiled anew every batch.
    stmt = pg_insert(ACTOR)
    ex = stmt.excluded
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[ACTOR.c.user_id],
            set_={
                "username": ex.username,
                "display_name": ex.display_name,
                "profile": ex.profile,
                "events": ACTOR.c.events + ex.events,
                "denied": ACTOR.c.denied + ex.denied,
                "file_accesses": ACTOR.c.file_accesses + ex.file_accesses,
                "first_at": func.least(ACTOR.c.first_at, ex.first_at),
                "last_at": func.greatest(ACTOR.c.last_at, ex.last_at),
            },
        ),
        rows,
    )
    return rows
