"""The per-worker access history projection."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from audit.core.folding import history_entry
from audit.core.models import StoredEvent
from audit.projections.models import AccessEntry
from audit.tables import copy_rows, table_of
from common.db import utcnow

ENTRY = table_of(AccessEntry)
COLUMNS = tuple(c.name for c in ENTRY.columns)


def decide(batch: Sequence[StoredEvent]) -> list[dict[str, Any]]:
    """The history rows of a batch (pure)."""
    return [e for e in map(history_entry, batch) if e is not None]


async def apply(session: AsyncSession, batch: Sequence[StoredEvent]) -> list[dict[str, Any]]:
    """Nothing to load: decide the rows, write them; returns them."""
    rows = decide(batch)
    now = utcnow()
    for row in rows:
        row["projected_at"] = now
    # COPY: each position is folded once (the projector's position, or a rebuild's truncate).
    await copy_rows(
        session,
        ENTRY.name,
        COLUMNS,
        [
            tuple(
                json.dumps(row[c]) if c == "details" and row[c] is not None else row[c]
                for c in COLUMNS
            )
            for row in rows
        ],
    )
    return rows
