"""Create, list, revoke and expire access grants."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from common.db import utcnow
from common.errors import conflict, invalid, not_found
from common.events import Actor, Resource
from common.rights import GRANTABLE_PROFILES
from common.tokens import Principal
from common.trail import RequestEvents
from identity.grants.models import AccessGrant
from identity.grants.schemas import AccessGrantCreate
from identity.settings import Settings
from identity.users.models import Account


def grant_resource(grant: AccessGrant) -> Resource:
    """The resource block of a grant event."""
    return Resource(type="access_grant", id=str(grant.id))


async def live_grants(session: AsyncSession, account_id: uuid.UUID) -> list[AccessGrant]:
    """Grants of an account that are neither revoked nor expired."""
    result = await session.execute(
        select(AccessGrant)
        .where(
            col(AccessGrant.grantee_id) == account_id,
            col(AccessGrant.revoked_at).is_(None),
            col(AccessGrant.expires_at) > utcnow(),
        )
        .order_by(col(AccessGrant.expires_at))
    )
    return list(result.scalars())


def as_claim(grant: AccessGrant) -> dict[str, str | None]:
    """A grant as carried in the access token."""
    return {
        "id": str(grant.id),
        "worker_id": grant.worker_id,
        "reason": grant.reason,
        "expires_at": grant.expires_at.isoformat(),
    }


async def create(
    session: AsyncSession,
    settings: Settings,
    body: AccessGrantCreate,
    director: Principal,
    events: RequestEvents,
) -> AccessGrant:
    """Grant a developer or helpdesk account time-limited access; traced as grant_created."""
    if body.minutes > settings.grant_max_minutes:
        raise invalid(
            "Grant too long",
            [
                {
                    "field": "body.minutes",
                    "message": f"at most {settings.grant_max_minutes} minutes",
                    "type": "less_than_equal",
                }
            ],
        )
    grantee = await session.get(Account, body.grantee_id)
    if grantee is None:
        raise invalid(
            "Unknown grantee",
            [{"field": "body.grantee_id", "message": "no such account", "type": "not_found"}],
        )
    if grantee.profile not in GRANTABLE_PROFILES or not grantee.active:
        allowed = ", ".join(sorted(GRANTABLE_PROFILES))
        raise invalid(
            "Grantee cannot receive a grant",
            [
                {
                    "field": "body.grantee_id",
                    "message": f"grants go to active accounts of profile {allowed}",
                    "type": "value_error",
                }
            ],
        )
    now = utcnow()
    grant = AccessGrant(
        grantee_id=grantee.id,
        worker_id=body.worker_id,
        reason=body.reason,
        granted_by=uuid.UUID(director.user_id),
        created_at=now,
        expires_at=now + timedelta(minutes=body.minutes),
    )
    session.add(grant)
    await session.flush()
    await events.emit(
        events.draft(
            "grant_created",
            actor=Actor.of(director),
            worker_id=grant.worker_id,
            resource=grant_resource(grant),
            purpose=grant.reason,
            details={
                "grantee": Actor.of(grantee).model_dump(),
                "expires_at": grant.expires_at.isoformat(),
                "scope": "worker" if grant.worker_id else "all_workers",
            },
        )
    )
    return grant


async def revoke(
    session: AsyncSession, grant_id: uuid.UUID, director: Principal, events: RequestEvents
) -> AccessGrant:
    """End a live grant now; traced as grant_revoked."""
    grant = (
        await session.execute(
            select(AccessGrant).where(col(AccessGrant.id) == grant_id).with_for_update()
        )
    ).scalar_one_or_none()
    if grant is None:
        raise not_found("Access grant")
    now = utcnow()
    if grant.revoked_at is not None or grant.expires_at <= now:
        raise conflict("The grant has already ended")
    grant.revoked_at = now
    grant.revoked_by = uuid.UUID(director.user_id)
    await session.flush()
    await events.emit(
        events.draft(
            "grant_revoked",
            actor=Actor.of(director),
            worker_id=grant.worker_id,
            resource=grant_resource(grant),
            purpose=grant.reason,
            details={"grantee_id": str(grant.grantee_id)},
        )
    )
    return grant


async def trace_expired(session: AsyncSession, events: RequestEvents, limit: int = 200) -> int:
    """Emit grant_expired for grants that ran out on their own (once each)."""
    now = utcnow()
    result = await session.execute(
        select(AccessGrant)
        .where(
            col(AccessGrant.expires_at) <= now,
            col(AccessGrant.revoked_at).is_(None),
            col(AccessGrant.expiry_traced_at).is_(None),
        )
        .order_by(col(AccessGrant.expires_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    grants = list(result.scalars())
    for grant in grants:
        grant.expiry_traced_at = now
    await events.emit(
        *(
            events.draft(
                "grant_expired",
                worker_id=grant.worker_id,
                resource=grant_resource(grant),
                purpose=grant.reason,
                details={
                    "grantee_id": str(grant.grantee_id),
                    "expires_at": grant.expires_at.isoformat(),
                },
            )
            for grant in grants
        )
    )
    await session.flush()
    return len(grants)
