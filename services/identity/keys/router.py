"""The JWKS and key rotation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from common.db import SessionDep
from common.events import Actor, Resource
from common.rights import Right
from common.tokens import Authorization, require_right
from common.trail import EventContext
from identity.keys import service
from identity.keys.schemas import JwksRead, KeyRead

router = APIRouter(tags=["keys"])
ManageAccounts = Annotated[Authorization, Depends(require_right(Right.MANAGE_ACCOUNTS))]


@router.get("/.well-known/jwks.json", summary="Public signing keys (JWKS)")
async def jwks(request: Request, response: Response, session: SessionDep) -> JwksRead:
    """The current key and retired keys whose tokens may still be alive."""
    keys = await service.published(session, request.app.state.settings)
    response.headers["Cache-Control"] = "public, max-age=60"
    return JwksRead(keys=[service.public_jwk(k.public_pem, k.kid) for k in keys])


@router.post(
    "/keys/rotate",
    summary="Start signing with a new key (security officer)",
    description="The previous public key stays in the JWKS until its last token has expired.",
    responses={401: {"description": "No or invalid token"}, 403: {"description": "Not allowed"}},
)
async def rotate(
    auth: ManageAccounts,
    request: Request,
    session: SessionDep,
    events: EventContext,
) -> KeyRead:
    """Rotate now; traced as key_rotated."""
    key = await service.rotate(session, request.app.state.settings)
    details: dict[str, Any] = {"kid": key.kid}
    await events.emit(
        events.draft(
            "key_rotated",
            actor=Actor.of(auth.principal),
            resource=Resource(type="signing_key", id=key.kid),
            details=details,
        )
    )
    return KeyRead(kid=key.kid, algorithm=key.algorithm, created_at=key.created_at)
