"""Art. 30 register: create, version, list, review-overdue."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from common.db import utcnow
from common.errors import conflict, not_found
from common.events import Resource
from common.tokens import Principal
from common.trail import RequestEvents
from register.activities.models import ProcessingActivity, ProcessingActivityVersion
from register.activities.schemas import (
    ActivityFields,
    ProcessingActivityCreate,
    ProcessingActivityRead,
    ProcessingActivityUpdate,
)
from register.validation import revalidate

CONTENT_FIELDS = tuple(ActivityFields.model_fields)


def content_of(activity: ProcessingActivity) -> dict[str, Any]:
    """The register content of an entry as plain JSON data."""
    data = {name: getattr(activity, name) for name in CONTENT_FIELDS}
    data["review_on"] = activity.review_on.isoformat()
    return data


def to_read(activity: ProcessingActivity, today: date) -> ProcessingActivityRead:
    """The served form, with the computed flags."""
    return ProcessingActivityRead.model_validate(
        {
            **content_of(activity),
            "id": activity.id,
            "version": activity.version,
            "special_category_data": any(
                c.get("special_category") for c in activity.data_categories
            ),
            "review_overdue": activity.active and activity.review_on < today,
            "created_at": activity.created_at,
            "created_by": activity.created_by,
            "updated_at": activity.updated_at,
            "updated_by": activity.updated_by,
        }
    )


def _snapshot(
    activity: ProcessingActivity, principal: Principal, changed: list[str]
) -> ProcessingActivityVersion:
    return ProcessingActivityVersion(
        activity_id=activity.id,
        version=activity.version,
        changed_at=activity.updated_at,
        changed_by=principal.user_id,
        changed_by_name=principal.display_name,
        changed_fields=changed,
        snapshot=content_of(activity),
    )


async def _name_taken(session: AsyncSession, name: str, but: uuid.UUID | None = None) -> bool:
    query = select(col(ProcessingActivity.id)).where(col(ProcessingActivity.name) == name)
    if but is not None:
        query = query.where(col(ProcessingActivity.id) != but)
    return (await session.execute(query)).first() is not None


async def create(
    session: AsyncSession,
    events: RequestEvents,
    principal: Principal,
    body: ProcessingActivityCreate,
) -> ProcessingActivity:
    """Add an entry as version 1."""
    if await _name_taken(session, body.name):
        raise conflict(f"A processing activity named {body.name!r} already exists")
    activity = ProcessingActivity(
        **body.model_dump(mode="json", exclude={"review_on"}),
        review_on=body.review_on,
        created_by=principal.user_id,
        updated_by=principal.user_id,
    )
    session.add(activity)
    await session.flush()
    session.add(_snapshot(activity, principal, sorted(CONTENT_FIELDS)))
    await events.emit(
        events.draft(
            "processing_activity_created",
            resource=Resource(type="processing_activity", id=str(activity.id)),
            details={"version": 1, "name": activity.name},
        )
    )
    await session.flush()
    return activity


async def get(
    session: AsyncSession, activity_id: uuid.UUID, *, lock: bool = False
) -> ProcessingActivity:
    """One entry or 404."""
    query = select(ProcessingActivity).where(col(ProcessingActivity.id) == activity_id)
    if lock:
        query = query.with_for_update()
    activity = (await session.execute(query)).scalar_one_or_none()
    if activity is None:
        raise not_found("Processing activity")
    return activity


async def update(
    session: AsyncSession,
    events: RequestEvents,
    principal: Principal,
    activity_id: uuid.UUID,
    body: ProcessingActivityUpdate,
) -> ProcessingActivity:
    """A new version from the one the caller saw; 409 when someone changed it meanwhile."""
    activity = await get(session, activity_id, lock=True)
    if body.version != activity.version:
        raise conflict(
            f"The entry is at version {activity.version}, not {body.version}; reload it",
            current_version=activity.version,
        )
    current = content_of(activity)
    merged = {**current, **body.changes()}
    checked = revalidate(ActivityFields, merged)
    new = checked.model_dump(mode="json")
    changed = sorted(k for k in CONTENT_FIELDS if new[k] != current[k])
    if not changed:
        return activity
    if "name" in changed and await _name_taken(session, checked.name, activity.id):
        raise conflict(f"A processing activity named {checked.name!r} already exists")
    for name in changed:
        setattr(activity, name, checked.review_on if name == "review_on" else new[name])
    activity.version += 1
    activity.updated_at = utcnow()
    activity.updated_by = principal.user_id
    session.add(_snapshot(activity, principal, changed))
    await events.emit(
        events.draft(
            "processing_activity_updated",
            resource=Resource(type="processing_activity", id=str(activity.id)),
            details={"version": activity.version, "changed": changed},
        )
    )
    await session.flush()
    return activity


async def listing(session: AsyncSession, *, active: bool | None = None) -> list[ProcessingActivity]:
    """Every entry, by name."""
    query = select(ProcessingActivity).order_by(col(ProcessingActivity.name))
    if active is not None:
        query = query.where(col(ProcessingActivity.active) == active)
    return list((await session.execute(query)).scalars())


async def review_overdue(session: AsyncSession, as_of: date) -> list[ProcessingActivity]:
    """Active entries whose review date has passed."""
    query = (
        select(ProcessingActivity)
        .where(col(ProcessingActivity.active).is_(True), col(ProcessingActivity.review_on) < as_of)
        .order_by(col(ProcessingActivity.review_on))
    )
    return list((await session.execute(query)).scalars())


async def versions(
    session: AsyncSession, activity_id: uuid.UUID
) -> list[ProcessingActivityVersion]:
    """Every version of an entry, oldest first."""
    await get(session, activity_id)
    query = (
        select(ProcessingActivityVersion)
        .where(col(ProcessingActivityVersion.activity_id) == activity_id)
        .order_by(col(ProcessingActivityVersion.version))
    )
    return list((await session.execute(query)).scalars())


async def version(
    session: AsyncSession, activity_id: uuid.UUID, number: int
) -> ProcessingActivityVersion:
    """One version of an entry or 404."""
    await get(session, activity_id)
    row = await session.get(ProcessingActivityVersion, (activity_id, number))
    if row is None:
        raise not_found(f"Version {number} of this processing activity")
    return row
