"""/auth: login, refresh, logout, session check."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import JSONResponse

from common.db import SessionDep
from common.tokens import PendingPasswordChangeUser
from common.trail import EventContext
from identity.auth import service
from identity.auth.schemas import LoginCreate, RefreshCreate, SessionRead, TokenRead

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/login",
    summary="Log in with username and password",
    description=(
        "401 `invalid-credentials` (one identical body whether the user exists or not); "
        "423 `account-locked` with `Retry-After` after three consecutive failures (the "
        "password is not checked while locked); 403 `password-expired` when the password is "
        "older than the maximum age: the body carries `password_change_token`, a five-minute "
        "token accepted only by POST /users/me/password. After three failures an unknown "
        "username answers the same 423 as a locked account. 429 `rate-limited` with "
        "`Retry-After` when the client address or the username has too many failed attempts."
    ),
    response_model=TokenRead,
    responses={
        401: {"description": "Bad credentials"},
        403: {"description": "Password expired"},
        423: {"description": "Account locked"},
        429: {"description": "Too many failed attempts"},
    },
)
async def login(
    body: LoginCreate, request: Request, session: SessionDep, events: EventContext
) -> TokenRead | JSONResponse:
    """Open a session: a short access token and a single-use refresh token."""
    return await service.login(
        session, request.app.state.settings, request.app.state.hasher, body, events
    )


@router.post(
    "/refresh",
    summary="Exchange a refresh token for new tokens",
    description=(
        "Each refresh token works once and is replaced. Presenting an already used one ends "
        "the whole session (theft detection). A session ends after the idle timeout without "
        "refresh, at logout, on deactivation, or at its maximum age."
    ),
    response_model=TokenRead,
    responses={
        401: {"description": "Session ended or unknown token"},
        429: {"description": "Too many failed refreshes from this client or of one account"},
    },
)
async def refresh(
    body: RefreshCreate, request: Request, session: SessionDep, events: EventContext
) -> TokenRead | JSONResponse:
    """Rotate the refresh token."""
    return await service.refresh(session, request.app.state.settings, body.refresh_token, events)


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="End the caller's session",
    response_class=Response,
    responses={401: {"description": "No or invalid token"}},
)
async def logout(
    principal: PendingPasswordChangeUser, session: SessionDep, events: EventContext
) -> Response:
    """Tokens of this session stop working at once (other services within seconds)."""
    await service.logout(session, principal, events)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/session",
    summary="Is the bearer token's session still open?",
    description=(
        "200 while the session is open (not logged out, revoked, idle-expired; account "
        "active; profile and grants unchanged since the token was issued), 401 otherwise. "
        "Other services ask this through common.tokens.HttpSessionChecker (a token awaiting "
        "its first password change is answered too: each service then refuses it with 403)."
    ),
    responses={401: {"description": "Session ended"}},
)
async def session_state(principal: PendingPasswordChangeUser) -> SessionRead:
    """The verifier already checked the session against the database."""
    return SessionRead(
        active=True,
        session_id=uuid.UUID(principal.session_id),
        user_id=uuid.UUID(principal.user_id),
        profile=principal.profile.value,
    )
