"""/access-grants: the medical director's time-limited, reasoned access grants."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from sqlalchemy import select
from sqlmodel import col

from common.db import SessionDep, utcnow
from common.errors import not_found
from common.rights import Right, Scope
from common.tokens import Authorization, CurrentUser, Denied, require_right
from common.trail import EventContext
from identity.grants import service
from identity.grants.models import AccessGrant
from identity.grants.schemas import AccessGrantCreate, AccessGrantRead

router = APIRouter(prefix="/access-grants", tags=["access grants"])
GrantAccess = Annotated[Authorization, Depends(require_right(Right.GRANT_ACCESS))]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No or invalid token"},
    403: {"description": "Profile not allowed"},
    422: {"description": "Invalid input"},
}


def _read(grant: AccessGrant) -> AccessGrantRead:
    now = utcnow()
    state = (
        "revoked"
        if grant.revoked_at is not None
        else "expired"
        if grant.expires_at <= now
        else "active"
    )
    read = AccessGrantRead.model_validate(grant)
    return read.model_copy(update={"status": state})


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Grant a developer or helpdesk account time-limited access (medical director)",
    description=(
        "To one worker's file (`worker_id`) or to all (absent). The grant appears in the "
        "grantee's next access token (`grants` claim); tokens issued before a revocation are "
        "refused by the session check, so the grantee refreshes."
    ),
    responses=ERRORS,
)
async def create_grant(
    body: AccessGrantCreate,
    auth: GrantAccess,
    request: Request,
    session: SessionDep,
    events: EventContext,
) -> AccessGrantRead:
    """Create and trace a grant."""
    grant = await service.create(session, request.app.state.settings, body, auth.principal, events)
    return _read(grant)


@router.get(
    "",
    summary="List grants",
    description="The medical director and the security officer see every grant; others theirs.",
    responses=ERRORS,
)
async def list_grants(
    principal: CurrentUser,
    session: SessionDep,
    grantee_id: uuid.UUID | None = None,
    active: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[AccessGrantRead]:
    """Newest first."""
    query = select(AccessGrant).order_by(col(AccessGrant.created_at).desc())
    sees_all = (
        principal.scope(Right.GRANT_ACCESS) is not Scope.NONE
        or principal.scope(Right.MANAGE_ACCOUNTS) is not Scope.NONE
    )
    if not sees_all:
        query = query.where(col(AccessGrant.grantee_id) == uuid.UUID(principal.user_id))
    if grantee_id is not None:
        query = query.where(col(AccessGrant.grantee_id) == grantee_id)
    now = utcnow()
    if active is True:
        query = query.where(
            col(AccessGrant.revoked_at).is_(None), col(AccessGrant.expires_at) > now
        )
    elif active is False:
        query = query.where(
            col(AccessGrant.revoked_at).is_not(None) | (col(AccessGrant.expires_at) <= now)
        )
    result = await session.execute(query.limit(limit).offset(offset))
    return [_read(g) for g in result.scalars()]


@router.get(
    "/{grant_id}", summary="One grant", responses={**ERRORS, 404: {"description": "Unknown grant"}}
)
async def get_grant(
    grant_id: uuid.UUID, principal: CurrentUser, session: SessionDep
) -> AccessGrantRead:
    """A grant, for the medical director, the security officer or its grantee."""
    grant = await session.get(AccessGrant, grant_id)
    allowed = grant is not None and (
        principal.scope(Right.GRANT_ACCESS) is not Scope.NONE
        or principal.scope(Right.MANAGE_ACCOUNTS) is not Scope.NONE
        or str(grant.grantee_id) == principal.user_id
    )
    if grant is None or not allowed:
        if grant is not None:
            raise Denied(principal, Right.GRANT_ACCESS)
        raise not_found("Access grant")
    return _read(grant)


@router.delete(
    "/{grant_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke a grant (medical director)",
    response_class=Response,
    responses={**ERRORS, 404: {"description": "Unknown"}, 409: {"description": "Already ended"}},
)
async def revoke_grant(
    grant_id: uuid.UUID, auth: GrantAccess, session: SessionDep, events: EventContext
) -> Response:
    """End the grant now; the grantee's current tokens stop carrying it within seconds."""
    await service.revoke(session, grant_id, auth.principal, events)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
