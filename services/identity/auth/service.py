"""Login with lockout, tokens, rotating refresh tokens, session checks, logout."""

from __future__ import annotations

import hashlib
import math
import secrets
import uuid
from datetime import timedelta
from typing import Any

from fastapi.responses import JSONResponse
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from common.db import utcnow
from common.errors import Problem, problem_response, unavailable
from common.events import Actor
from common.rights import GRANTABLE_PROFILES
from common.tokens import PASSWORD_CHANGE_CLAIM, Principal
from common.trail import RequestEvents
from identity.auth import guard
from identity.auth.models import RefreshToken, Session
from identity.auth.schemas import LoginCreate, TokenRead
from identity.grants.service import as_claim, live_grants
from identity.keys import service as keys
from identity.settings import Settings
from identity.trail import account_resource, session_resource
from identity.users.models import Account
from identity.users.passwords import Hasher
from identity.users.wards import live_wards, local_today

PROBLEMS = "https://ohs.example/problems/"
PASSWORD_CHANGE_AUDIENCE_SUFFIX = ":password-change"  # noqa: S105 - an audience


def bad_credentials() -> Problem:
    """The one 401 for an unknown user, a wrong password or an inactive account."""
    return Problem(
        401,
        "Invalid username or password",
        type_=PROBLEMS + "invalid-credentials",
        headers={"WWW-Authenticate": "Bearer"},
    )


def account_locked(seconds: float) -> Problem:
    """423 with the seconds left in Retry-After."""
    wait = max(1, math.ceil(seconds))
    return Problem(
        423,
        f"Account locked after repeated failed logins; retry in {wait} s "
        "or ask the security officer to unlock it",
        title="Locked",
        type_=PROBLEMS + "account-locked",
        headers={"Retry-After": str(wait)},
        retry_after=wait,
    )


def session_ended(detail: str = "Session ended") -> Problem:
    """401 for a refresh or session that is no longer valid."""
    return Problem(
        401, detail, type_=PROBLEMS + "session-ended", headers={"WWW-Authenticate": "Bearer"}
    )


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def password_expired(account: Account, settings: Settings) -> bool:
    """True when the password is older than the maximum age."""
    age = utcnow() - account.password_changed_at
    return age > timedelta(days=settings.password_max_age_days)


async def _signing_key(session: AsyncSession) -> keys.SigningKey:
    key = await keys.current(session)
    if key is None:
        raise unavailable("No signing key yet; identity is starting")
    return key


async def access_claims(
    session: AsyncSession, settings: Settings, account: Account, sid: uuid.UUID
) -> dict[str, Any]:
    """The claims of an access token (CONTRACT.md and common.tokens)."""
    now = utcnow()
    grants = (
        [as_claim(g) for g in await live_grants(session, account.id)]
        if account.profile in GRANTABLE_PROFILES
        else []
    )
    claims: dict[str, Any] = {
        "iss": settings.token_issuer,
        "aud": settings.token_audience,
        "sub": str(account.id),
        "preferred_username": account.username,
        "name": account.display_name,
        "profile": account.profile,
        "sid": str(sid),
        "jti": str(uuid.uuid4()),
        "iat": int(now.timestamp()),
        "exp": int(now.timestamp()) + settings.access_token_seconds,
        "worker_id": account.worker_id,
        "guardian_of": live_wards(
            list(account.guardian_of or []), account.ward_birth_dates, local_today(now)
        ),
        "grants": grants,
    }
    if account.password_change_required:
        claims[PASSWORD_CHANGE_CLAIM] = True
    return claims


async def issue_tokens(
    session: AsyncSession, settings: Settings, account: Account, sess: Session
) -> TokenRead:
    """A fresh access token and a new single-use refresh token for the session."""
    key = await _signing_key(session)
    claims = await access_claims(session, settings, account, sess.id)
    refresh = secrets.token_urlsafe(32)
    session.add(RefreshToken(session_id=sess.id, token_hash=_hash_token(refresh)))
    await session.flush()
    return TokenRead(
        access_token=keys.sign(key, claims),
        refresh_token=refresh,
        expires_in=settings.access_token_seconds,
        password_change_required=account.password_change_required,
    )


async def password_change_token(session: AsyncSession, settings: Settings, account: Account) -> str:
    """A short token accepted only by POST /users/me/password (its audience differs)."""
    key = await _signing_key(session)
    now = int(utcnow().timestamp())
    return keys.sign(
        key,
        {
            "iss": settings.token_issuer,
            "aud": settings.token_audience + PASSWORD_CHANGE_AUDIENCE_SUFFIX,
            "sub": str(account.id),
            "jti": str(uuid.uuid4()),
            "iat": now,
            "exp": now + settings.password_change_token_seconds,
            "purpose": "password_change",
        },
    )


def lock_seconds(settings: Settings, lock_count: int) -> int:
    """How long the n-th consecutive lock lasts: 15 minutes, doubling per lock, capped."""
    return int(
        min(settings.lockout_base_seconds * 2 ** (lock_count - 1), settings.lockout_max_seconds)
    )


async def record_failure(
    session: AsyncSession,
    settings: Settings,
    account: Account,
    events: RequestEvents,
    reason: str,
) -> None:
    """Count a wrong password; lock the account at the threshold (15 min, doubling, capped)."""
    now = utcnow()
    actor, resource = Actor.of(account), account_resource(account)
    account.failed_attempts += 1
    drafts = [
        events.draft(
            "login_failed",
            actor=actor,
            outcome="denied",
            resource=resource,
            details={"reason": reason, "consecutive_failures": account.failed_attempts},
        )
    ]
    if account.failed_attempts >= settings.lockout_threshold:
        account.lock_count += 1
        seconds = lock_seconds(settings, account.lock_count)
        account.locked_until = now + timedelta(seconds=seconds)
        account.failed_attempts = 0
        drafts.append(
            events.draft(
                "lockout",
                actor=actor,
                outcome="denied",
                resource=resource,
                details={
                    "seconds": seconds,
                    "lock_count": account.lock_count,
                    "locked_until": account.locked_until.isoformat(),
                },
            )
        )
    await events.emit(*drafts)
    await session.flush()


def locked_for(account: Account) -> float | None:
    """Seconds the account stays locked, or None when it is not locked."""
    if account.locked_until is None:
        return None
    left = (account.locked_until - utcnow()).total_seconds()
    return left if left > 0 else None


async def login(
    session: AsyncSession,
    settings: Settings,
    hasher: Hasher,
    body: LoginCreate,
    events: RequestEvents,
) -> TokenRead | JSONResponse:
    """Throttle, then check the credentials; failures count per client and per username.

    Failures must be committed, so they are returned as problem responses, not raised.
    """
    username = body.username.strip().lower()
    client = events.client.ip or "unknown"
    by_ip, by_name = guard.ip_limit(settings), guard.account_limit(settings)
    wait = await guard.blocked_for(session, [(by_ip, client), (by_name, username)])
    if wait is not None:
        return await _throttled(session, events, wait, [(by_ip, client), (by_name, username)])
    response = await _login(session, settings, hasher, username, body.password, events)
    if isinstance(response, JSONResponse) and response.status_code in (401, 423):
        # A password was checked (401) or refused unchecked (423): both count per username;
        # only checked passwords count per client, so a locked account cannot block an office.
        if response.status_code == 401:
            await guard.hit(session, by_ip, client)
        await guard.hit(session, by_name, username)
    return response


async def _throttled(
    session: AsyncSession,
    events: RequestEvents,
    wait: float,
    counters: list[tuple[guard.Limit, str]],
) -> JSONResponse:
    """429; traced once per window and counter (the first refused attempt), not per request."""
    first = []
    for limit, value in counters:
        over = await guard.blocked_for(session, [(limit, value)]) is not None
        if over and await guard.first_refusal(session, limit, value):
            first.append(limit.prefix)
    if first:
        await events.emit(
            events.draft(
                "login_throttled",
                outcome="denied",
                details={"throttled_by": first, "retry_after": math.ceil(wait)},
            )
        )
    return problem_response(guard.throttled(wait))


async def _unknown_user(
    session: AsyncSession,
    settings: Settings,
    hasher: Hasher,
    username: str,
    password: str,
    events: RequestEvents,
) -> JSONResponse:
    """A name without an account keeps a lockout state of its own and answers as an account."""
    state = await guard.unknown_name(session, username)
    now = utcnow()
    if state.locked_until is not None and state.locked_until > now:
        await events.emit(
            events.draft(
                "login",
                outcome="denied",
                details={"reason": "account_locked", "unknown_user": True},
            )
        )
        return problem_response(account_locked((state.locked_until - now).total_seconds()))
    await hasher.verify(password, hasher.dummy_hash)
    state.failed_attempts += 1
    details: dict[str, Any] = {
        "reason": "unknown_user",
        "consecutive_failures": state.failed_attempts,
    }
    if state.failed_attempts >= settings.lockout_threshold:
        state.lock_count += 1
        state.locked_until = now + timedelta(seconds=lock_seconds(settings, state.lock_count))
        state.failed_attempts = 0
        details["locked_until"] = state.locked_until.isoformat()
    await guard.save_unknown_name(session, state)
    await events.emit(events.draft("login_failed", outcome="denied", details=details))
    return problem_response(bad_credentials())


async def _login(
    session: AsyncSession,
    settings: Settings,
    hasher: Hasher,
    username: str,
    password: str,
    events: RequestEvents,
) -> TokenRead | JSONResponse:
    """Check credentials under a row lock so concurrent attempts on one account serialise."""
    account = (
        await session.execute(
            select(Account).where(col(Account.username) == username).with_for_update()
        )
    ).scalar_one_or_none()
    now = utcnow()
    if account is None:
        return await _unknown_user(session, settings, hasher, username, password, events)
    actor, resource = Actor.of(account), account_resource(account)
    if account.locked_until is not None and account.locked_until > now:
        await events.emit(
            events.draft(
                "login",
                actor=actor,
                outcome="denied",
                resource=resource,
                details={
                    "reason": "account_locked",
                    "locked_until": account.locked_until.isoformat(),
                },
            )
        )
        return problem_response(account_locked((account.locked_until - now).total_seconds()))
    ok = await hasher.verify(password, account.password_hash)
    account.password_checks += 1
    if not account.active:
        # Counted like a wrong password, so an inactive account locks as any name does.
        await record_failure(session, settings, account, events, "account_inactive")
        return problem_response(bad_credentials())
    if not ok:
        await record_failure(session, settings, account, events, "wrong_password")
        return problem_response(bad_credentials())
    account.failed_attempts = 0
    account.lock_count = 0
    account.locked_until = None
    if password_expired(account, settings):
        await events.emit(
            events.draft(
                "login",
                actor=actor,
                outcome="denied",
                resource=resource,
                details={"reason": "password_expired"},
            )
        )
        token = await password_change_token(session, settings, account)
        await session.flush()
        return problem_response(
            Problem(
                403,
                "Password expired: change it with POST /users/me/password, using "
                "password_change_token as the bearer token, then log in again",
                type_=PROBLEMS + "password-expired",
                password_change_token=token,
                change_endpoint="/users/me/password",
            )
        )
    account.last_login_at = now
    sess = Session(
        account_id=account.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(seconds=settings.session_max_seconds),
        client_ip=events.client.ip,
        user_agent=events.client.user_agent,
    )
    session.add(sess)
    await session.flush()
    await events.emit(events.draft("login", actor=actor, resource=session_resource(sess.id)))
    return await issue_tokens(session, settings, account, sess)


async def end_sessions(
    session: AsyncSession,
    account_id: uuid.UUID,
    reason: str,
    *,
    keep: uuid.UUID | None = None,
) -> int:
    """End every open session of an account (but `keep`) and revoke their refresh tokens."""
    now = utcnow()
    query = (
        update(Session)
        .where(col(Session.account_id) == account_id, col(Session.ended_at).is_(None))
        .values(ended_at=now, end_reason=reason)
        .returning(col(Session.id))
    )
    if keep is not None:
        query = query.where(col(Session.id) != keep)
    ended = list((await session.execute(query)).scalars())
    if ended:
        await session.execute(
            update(RefreshToken)
            .where(
                col(RefreshToken.session_id).in_(ended),
                col(RefreshToken.revoked_at).is_(None),
            )
            .values(revoked_at=now)
        )
    return len(ended)


async def _end_one(session: AsyncSession, sess: Session, reason: str) -> None:
    now = utcnow()
    if sess.ended_at is None:
        sess.ended_at = now
        sess.end_reason = reason
    await session.execute(
        update(RefreshToken)
        .where(
            col(RefreshToken.session_id) == sess.id,
            col(RefreshToken.revoked_at).is_(None),
        )
        .values(revoked_at=now)
    )
    await session.flush()


def _session_open(sess: Session, account: Account, settings: Settings) -> str | None:
    """None while the session is usable, else why it is not."""
    now = utcnow()
    if sess.ended_at is not None:
        return sess.end_reason or "ended"
    if not account.active:
        return "account_deactivated"
    if sess.expires_at <= now:
        return "max_age"
    if now - sess.last_seen_at > timedelta(seconds=settings.session_idle_seconds):
        return "idle_timeout"
    return None


async def refresh(
    session: AsyncSession, settings: Settings, token: str, events: RequestEvents
) -> TokenRead | JSONResponse:
    """Throttled per client (failed refreshes) and per account (refreshes), then rotate."""
    client = events.client.ip or "unknown"
    by_ip = guard.ip_limit(settings)
    wait = await guard.blocked_for(session, [(by_ip, client)])
    if wait is not None:
        return await _throttled(session, events, wait, [(by_ip, client)])
    response = await _refresh(session, settings, token, events)
    if isinstance(response, JSONResponse) and response.status_code == 401:
        await guard.hit(session, by_ip, client)
    return response


async def _refresh(
    session: AsyncSession, settings: Settings, token: str, events: RequestEvents
) -> TokenRead | JSONResponse:
    """Exchange a refresh token once; a second use of the same token ends the whole session."""
    row = (
        await session.execute(
            select(RefreshToken, Session, Account)
            .join(Session, col(Session.id) == RefreshToken.session_id)
            .join(Account, col(Account.id) == Session.account_id)
            .where(col(RefreshToken.token_hash) == _hash_token(token))
            .with_for_update(of=[RefreshToken, Session])
        )
    ).one_or_none()
    if row is None:
        return problem_response(session_ended("Unknown refresh token"))
    stored, sess, account = row
    if stored.used_at is not None:
        # A rotated token came back: whoever holds it may be a thief. End the session.
        was_open = sess.ended_at is None
        await _end_one(session, sess, "refresh_token_reuse")
        if was_open:
            await events.emit(
                events.draft(
                    "session_revoked",
                    actor=Actor.of(account),
                    outcome="denied",
                    resource=session_resource(sess.id),
                    details={"reason": "refresh_token_reuse"},
                )
            )
        return problem_response(session_ended("Refresh token reused; the session is ended"))
    reason = "revoked" if stored.revoked_at is not None else _session_open(sess, account, settings)
    if reason is not None:
        await _end_one(session, sess, reason)
        return problem_response(session_ended(f"Session ended ({reason})"))
    per_account = guard.refresh_limit(settings)
    if await guard.hit(session, per_account, str(account.id)) > per_account.limit:
        # The token stays unused: the client may present it again after Retry-After.
        wait = await guard.blocked_for(session, [(per_account, str(account.id))])
        return problem_response(guard.throttled(wait or per_account.window))
    now = utcnow()
    stored.used_at = now
    sess.last_seen_at = now
    return await issue_tokens(session, settings, account, sess)


async def logout(session: AsyncSession, principal: Principal, events: RequestEvents) -> None:
    """End the caller's session and revoke its refresh tokens."""
    sess = await session.get(Session, uuid.UUID(principal.session_id), with_for_update=True)
    if sess is None:
        return
    await _end_one(session, sess, "logout")
    await events.emit(
        events.draft(
            "logout", actor=Actor.of(principal), resource=session_resource(principal.session_id)
        )
    )


async def session_alive(session: AsyncSession, settings: Settings, principal: Principal) -> bool:
    """True while the token's session is open and its claims still hold (profile, links, grants)."""
    try:
        sid, sub = uuid.UUID(principal.session_id), uuid.UUID(principal.user_id)
    except ValueError:
        return False
    row = (
        await session.execute(
            select(Session, Account)
            .join(Account, col(Account.id) == Session.account_id)
            .where(col(Session.id) == sid, col(Account.id) == sub)
        )
    ).one_or_none()
    if row is None:
        return False
    sess, account = row
    if _session_open(sess, account, settings) is not None:
        return False
    if account.profile != principal.profile.value:
        return False
    # A ward who came of age since the token was issued ends the session: the next login
    # issues a token without the link.
    wards = live_wards(list(account.guardian_of or ()), account.ward_birth_dates, local_today())
    if tuple(wards) != principal.guardian_of:
        return False
    if principal.grants:
        live = {str(g.id) for g in await live_grants(session, account.id)}
        if any(g.id not in live for g in principal.grants):
            return False
    return True
