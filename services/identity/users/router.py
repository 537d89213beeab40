"""/users: accounts (security officer), the caller's own account and password."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import JSONResponse
from jose import JWTError, jwt

from common.db import SessionDep
from common.errors import Problem, unauthorized
from common.rights import Profile, Right
from common.tokens import (
    Authorization,
    CurrentUser,
    Denied,
    PendingPasswordChangeUser,
    Principal,
    TokenVerifier,
    bearer_token,
    require_right,
)
from common.trail import EventContext
from identity.auth.service import PASSWORD_CHANGE_AUDIENCE_SUFFIX
from identity.settings import Settings
from identity.text import Text
from identity.users import service
from identity.users.schemas import PasswordChange, UserCreate, UserRead, UserUpdate

router = APIRouter(tags=["users"])
ManageAccounts = Annotated[Authorization, Depends(require_right(Right.MANAGE_ACCOUNTS))]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No or invalid token"},
    403: {"description": "Profile not allowed"},
    404: {"description": "Unknown user"},
    422: {"description": "Invalid input"},
}


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


@router.post(
    "/users",
    status_code=status.HTTP_201_CREATED,
    summary="Create a personal account (security officer)",
    responses={**ERRORS, 409: {"description": "Username taken"}},
)
async def create_user(
    body: UserCreate,
    auth: ManageAccounts,
    request: Request,
    session: SessionDep,
    events: EventContext,
) -> UserRead:
    """Create an account; its first login must replace the password (`password_change_required`)."""
    settings = _settings(request)
    account = await service.create_user(
        session, settings, request.app.state.hasher, body, auth.principal, events
    )
    return service.to_read(account, settings)


@router.get("/users", summary="List accounts (security officer, director)", responses=ERRORS)
async def list_users(
    principal: CurrentUser,
    request: Request,
    session: SessionDep,
    profile: Profile | None = None,
    q: Annotated[Text | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[UserRead]:
    """Accounts by username; the medical director needs them to grant access."""
    if (
        principal.scope(Right.MANAGE_ACCOUNTS).value == "none"
        and principal.scope(Right.GRANT_ACCESS).value == "none"
    ):
        raise Denied(principal, Right.MANAGE_ACCOUNTS)
    settings = _settings(request)
    accounts = await service.list_accounts(session, profile, q, limit, offset)
    return [service.to_read(a, settings) for a in accounts]


@router.get("/users/me", summary="The caller's own account", responses=ERRORS)
async def me(
    principal: PendingPasswordChangeUser, request: Request, session: SessionDep
) -> UserRead:
    """The account behind the bearer token."""
    account = await service.get_account(session, uuid.UUID(principal.user_id))
    return service.to_read(account, _settings(request))


@router.post(
    "/users/me/file-notice",
    summary="The worker saw the notice that their file is computerised",
    description=(
        "Records, once, when a worker account was told that its health file is kept on "
        "computer and how to see who opened it (the portal shows the notice until then). "
        "The first date is kept; a `file_notice_seen` event traces it. Worker accounts only."
    ),
    responses=ERRORS,
)
async def see_file_notice(
    principal: CurrentUser, request: Request, session: SessionDep, events: EventContext
) -> UserRead:
    """Keep the first time the notice was seen."""
    account = await service.see_file_notice(session, principal, events)
    return service.to_read(account, _settings(request))


async def password_change_caller(request: Request) -> tuple[uuid.UUID, uuid.UUID | None]:
    """An access token, or the password-change token a login with an expired password gave."""
    token = bearer_token(request)
    verifier: TokenVerifier = request.app.state.verifier
    try:
        principal: Principal = await verifier.verify(token)
    except Problem:
        pass
    else:
        return uuid.UUID(principal.user_id), uuid.UUID(principal.session_id)
    settings = _settings(request)
    try:
        kid = jwt.get_unverified_header(token).get("kid")
        key = await verifier.key_for(kid) if isinstance(kid, str) else None
        if key is None:
            raise unauthorized()
        claims = jwt.decode(
            token,
            key,
            algorithms=["RS256"],
            audience=settings.token_audience + PASSWORD_CHANGE_AUDIENCE_SUFFIX,
            issuer=settings.token_issuer,
            options={"require_exp": True, "require_sub": True},
        )
        if claims.get("purpose") != "password_change":
            raise unauthorized()
        return uuid.UUID(claims["sub"]), None
    except (JWTError, KeyError, ValueError) as exc:
        raise unauthorized() from exc


@router.post(
    "/users/me/password",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Change the caller's password",
    description=(
        "Bearer: an access token, or the `password_change_token` returned by a login whose "
        "password has expired (403 `password-expired`). The current password counts towards "
        "the lockout. Each broken policy rule is listed in the 422 `errors` with its `rule`: "
        "min_length, max_length, letters, digits, special, common, history. "
        "The caller's other sessions are ended."
    ),
    responses={**ERRORS, 423: {"description": "Account locked"}},
    response_class=Response,
)
async def change_password(
    body: PasswordChange,
    caller: Annotated[tuple[uuid.UUID, uuid.UUID | None], Depends(password_change_caller)],
    request: Request,
    session: SessionDep,
    events: EventContext,
) -> Response:
    """Change the password; refused passwords are reported rule by rule."""
    account_id, session_id = caller
    refused: JSONResponse | None = await service.change_password(
        session, _settings(request), request.app.state.hasher, account_id, body, events, session_id
    )
    return refused or Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/users/{user_id}", summary="One account", responses=ERRORS)
async def get_user(
    user_id: uuid.UUID, principal: CurrentUser, request: Request, session: SessionDep
) -> UserRead:
    """An account: the security officer and the medical director see any, others themselves."""
    if (
        principal.user_id != str(user_id)
        and principal.scope(Right.MANAGE_ACCOUNTS).value == "none"
        and principal.scope(Right.GRANT_ACCESS).value == "none"
    ):
        raise Denied(principal, Right.MANAGE_ACCOUNTS)
    account = await service.get_account(session, user_id)
    return service.to_read(account, _settings(request))


@router.patch(
    "/users/{user_id}",
    summary="Change profile, activation or display name (security officer)",
    description="Deactivation ends every session and revokes every refresh token at once.",
    responses={**ERRORS, 409: {"description": "Last security officer"}},
)
async def update_user(
    user_id: uuid.UUID,
    body: UserUpdate,
    auth: ManageAccounts,
    request: Request,
    session: SessionDep,
    events: EventContext,
) -> UserRead:
    """Apply the change and trace it."""
    account = await service.update_user(session, user_id, body, auth.principal, events)
    return service.to_read(account, _settings(request))


@router.post(
    "/users/{user_id}/unlock",
    summary="Lift a lockout (security officer)",
    responses=ERRORS,
)
async def unlock_user(
    user_id: uuid.UUID,
    auth: ManageAccounts,
    request: Request,
    session: SessionDep,
    events: EventContext,
) -> UserRead:
    """Unlock and reset the failure counters."""
    account = await service.unlock(session, user_id, auth.principal, events)
    return service.to_read(account, _settings(request))
