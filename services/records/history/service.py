"""Append a version; list the versions of an entity."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from common.tokens import Principal
from records.history.models import Revision


def add_revision(
    session: AsyncSession,
    *,
    entity: str,
    entity_id: uuid.UUID,
    worker_id: uuid.UUID,
    version: int,
    data: dict[str, Any],
    principal: Principal,
) -> Revision:
    """Keep one version (added to the session; flushed with the entity)."""
    revision = Revision(
        entity=entity,
        entity_id=entity_id,
        worker_id=worker_id,
        version=version,
        data=data,
        created_by=principal.user_id,
        created_by_name=principal.display_name,
    )
    session.add(revision)
    return revision


async def revisions_of(
    session: AsyncSession, entity: str, entity_id: uuid.UUID
) -> Sequence[Revision]:
    """Every version of one entity, oldest first."""
    result = await session.execute(
        select(Revision)
        .where(col(Revision.entity) == entity, col(Revision.entity_id) == entity_id)
        .order_by(col(Revision.version))
    )
    return result.scalars().all()


async def revisions_of_worker(session: AsyncSession, worker_id: uuid.UUID) -> Sequence[Revision]:
    """Every version of every piece of one file (for export bundles)."""
    result = await session.execute(
        select(Revision)
        .where(col(Revision.worker_id) == worker_id)
        .order_by(col(Revision.entity), col(Revision.entity_id), col(Revision.version))
    )
    return result.scalars().all()
