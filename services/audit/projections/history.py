"""The per-worker access history projection."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from audit.core.folding import history_entry
from audit.core.models import StoredEvent
from audit.projections.models import AccessEntry
from audit.tables import table_of
from common.db import utcnow

ENTRY = table_of(AccessEntry)


def decide(batch: Sequence[StoredEvent]) -> list[dict[str, Any]]:
    """The history rows of a batch (pure)."""
    return [e for e in map(history_entry, batch) if e is not None]


async def apply(session: AsyncSession, batch: Sequence[StoredEvent]) -> list[dict[str, Any]]:
    """Nothing to load: decide the rows, write them; returns them."""
    rows = decide(batch)
    now = utcnow()
    for row in rows:
        row["projected_at"] = now
    if rows:
        await session.execute(insert(ENTRY), rows)
    return rows
