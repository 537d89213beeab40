"""Accounts: create, read, change profile or activation, unlock, change password."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fastapi.responses import JSONResponse
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from common.db import utcnow
from common.errors import Problem, conflict, invalid, not_found, problem_response
from common.events import Actor
from common.rights import Profile
from common.tokens import Principal
from common.trail import RequestEvents
from identity.auth import guard
from identity.auth.service import account_locked, end_sessions, locked_for, record_failure
from identity.settings import Settings
from identity.trail import account_resource
from identity.users.models import Account, PasswordHistory
from identity.users.passwords import Hasher, history_violation, violations
from identity.users.schemas import PasswordChange, UserCreate, UserRead, UserUpdate
from identity.users.wards import link_ends_on


def to_read(account: Account, settings: Settings) -> UserRead:
    """The public view of an account."""
    return UserRead.model_validate(
        {
            **account.model_dump(exclude={"password_hash"}),
            "guardian_links_end_on": {
                ward: link_ends_on(account.ward_birth_dates, ward)
                for ward in account.guardian_of
                if ward in account.ward_birth_dates
            },
            "password_expires_at": account.password_changed_at
            + timedelta(days=settings.password_max_age_days),
        }
    )


async def see_file_notice(
    session: AsyncSession, principal: Principal, events: RequestEvents
) -> Account:
    """Record the first sight of the file notice, traced; later calls change nothing."""
    if principal.profile is not Profile.WORKER:
        raise Problem(403, "The file notice is shown to worker accounts only")
    account = await get_account(session, uuid.UUID(principal.user_id), lock=True)
    if account.file_notice_seen_at is None:
        account.file_notice_seen_at = utcnow()
        await events.emit(
            events.draft(
                "file_notice_seen",
                actor=Actor.of(principal),
                worker_id=account.worker_id,
                resource=account_resource(account),
                details={"seen_at": account.file_notice_seen_at.isoformat()},
            )
        )
        await session.flush()
    return account


def field_error(field: str, message: str, **extra: str) -> dict[str, Any]:
    """One entry of a 422's errors."""
    return {"field": field, "message": message, "type": "value_error", **extra}


def _policy_problem(errors: list[dict[str, Any]]) -> Problem:
    rules = ", ".join(e["rule"] for e in errors)
    return invalid(f"Password refused by the policy ({rules})", errors)


async def create_user(
    session: AsyncSession,
    settings: Settings,
    hasher: Hasher,
    body: UserCreate,
    officer: Principal | None,
    events: RequestEvents,
) -> Account:
    """Create a personal account; the password given works at once."""
    username = body.username.lower()
    if body.profile is not Profile.WORKER and (body.worker_id or body.guardian_of):
        raise invalid(
            "Only worker accounts are linked to health files",
            [field_error("body.worker_id", "allowed for profile worker only")],
        )
    if not body.password_change_required and settings.environment != "development":
        raise invalid(
            "Accounts created with a password must change it at first login",
            [field_error("body.password_change_required", "false only in development")],
        )
    errors = violations(body.password, settings, field="body.password")
    if errors:
        raise _policy_problem(errors)
    taken = await session.execute(select(col(Account.id)).where(col(Account.username) == username))
    if taken.first() is not None:
        raise conflict("Username already taken")
    hashed = await hasher.hash(body.password)
    now = utcnow()
    by = officer.user_id if officer else None
    account = Account(
        username=username,
        display_name=body.display_name,
        profile=body.profile.value,
        worker_id=body.worker_id,
        guardian_of=body.guardian_of,
        ward_birth_dates={w: born.isoformat() for w, born in body.ward_birth_dates.items()},
        password_hash=hashed,
        password_changed_at=now,
        created_at=now,
        updated_at=now,
        created_by=by,
        updated_by=by,
        # The bootstrap admin's password comes from the operator's environment, not an officer.
        password_change_required=officer is not None and body.password_change_required,
    )
    session.add(account)
    await session.flush()
    await guard.forget_name(session, username)
    session.add(PasswordHistory(account_id=account.id, password_hash=hashed, created_at=now))
    await session.flush()
    await events.emit(
        events.draft(
            "account_created",
            actor=Actor.of(officer) if officer else None,
            worker_id=account.worker_id,
            resource=account_resource(account),
            details={"username": account.username, "profile": account.profile},
        )
    )
    return account


async def get_account(
    session: AsyncSession, account_id: uuid.UUID, *, lock: bool = False
) -> Account:
    """An account by id, or 404."""
    account = await session.get(Account, account_id, with_for_update=lock)
    if account is None:
        raise not_found("User")
    return account


async def list_accounts(
    session: AsyncSession, profile: Profile | None, q: str | None, limit: int, offset: int
) -> list[Account]:
    """Accounts, filtered by profile and by a substring of username or display name."""
    query = select(Account).order_by(col(Account.username)).limit(limit).offset(offset)
    if profile is not None:
        query = query.where(col(Account.profile) == profile.value)
    if q:
        pattern = (
            "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        query = query.where(
            func.lower(Account.username).like(pattern)
            | func.lower(Account.display_name).like(pattern)
        )
    return list((await session.execute(query)).scalars())


async def _other_officers(session: AsyncSession, account_id: uuid.UUID) -> int:
    result = await session.execute(
        select(func.count())
        .select_from(Account)
        .where(
            col(Account.profile) == Profile.SECURITY_OFFICER.value,
            col(Account.active).is_(True),
            col(Account.id) != account_id,
        )
    )
    return int(result.scalar_one())


async def update_user(
    session: AsyncSession,
    account_id: uuid.UUID,
    body: UserUpdate,
    officer: Principal,
    events: RequestEvents,
) -> Account:
    """Change profile, activation or display name; deactivation ends every session at once."""
    account = await get_account(session, account_id, lock=True)
    losing_officer = account.profile == Profile.SECURITY_OFFICER.value and (
        body.active is False
        or (body.profile is not None and body.profile is not Profile.SECURITY_OFFICER)
    )
    if losing_officer and await _other_officers(session, account.id) == 0:
        raise conflict("The last active security officer cannot be removed")
    if (
        body.profile is not None
        and body.profile is not Profile.WORKER
        and (account.worker_id or account.guardian_of)
    ):
        raise invalid(
            "A worker account linked to a file cannot take a staff profile",
            [field_error("body.profile", "create a separate staff account")],
        )
    actor, resource = Actor.of(officer), account_resource(account)
    births = {w: born.isoformat() for w, born in (body.ward_birth_dates or {}).items()}
    if body.guardian_of is not None and (
        body.guardian_of != list(account.guardian_of) or births != account.ward_birth_dates
    ):
        if account.profile != Profile.WORKER.value:
            raise invalid(
                "Only worker accounts are linked to health files",
                [field_error("body.guardian_of", "allowed for profile worker only")],
            )
        before_links, account.guardian_of = list(account.guardian_of), body.guardian_of
        account.ward_birth_dates = births
        ends = {w: str(link_ends_on(births, w)) for w in body.guardian_of}
        await events.emit(
            events.draft(
                "guardian_links_changed",
                actor=actor,
                resource=resource,
                details={
                    "user_id": str(account.id),
                    "from": before_links,
                    "to": body.guardian_of,
                    "ends_on": ends,
                },
            )
        )
    if body.display_name is not None and body.display_name.strip():
        account.display_name = body.display_name.strip()
    if body.profile is not None and body.profile.value != account.profile:
        before, account.profile = account.profile, body.profile.value
        await events.emit(
            events.draft(
                "profile_changed",
                actor=actor,
                resource=resource,
                details={"user_id": str(account.id), "from": before, "to": account.profile},
            )
        )
    if body.active is not None and body.active != account.active:
        account.active = body.active
        if body.active:
            await events.emit(events.draft("account_reactivated", actor=actor, resource=resource))
        else:
            ended = await end_sessions(session, account.id, "account_deactivated")
            await events.emit(
                events.draft(
                    "account_deactivated",
                    actor=actor,
                    resource=resource,
                    details={"sessions_ended": ended},
                )
            )
    account.updated_at = utcnow()
    account.updated_by = officer.user_id
    await session.flush()
    return account


async def unlock(
    session: AsyncSession, account_id: uuid.UUID, officer: Principal, events: RequestEvents
) -> Account:
    """Lift a lock and reset the failure counters."""
    account = await get_account(session, account_id, lock=True)
    was_locked = locked_for(account) is not None
    account.locked_until = None
    account.failed_attempts = 0
    account.lock_count = 0
    account.updated_at = utcnow()
    account.updated_by = officer.user_id
    await events.emit(
        events.draft(
            "unlock",
            actor=Actor.of(officer),
            resource=account_resource(account),
            details={"user_id": str(account.id), "was_locked": was_locked},
        )
    )
    await session.flush()
    return account


async def change_password(
    session: AsyncSession,
    settings: Settings,
    hasher: Hasher,
    account_id: uuid.UUID,
    body: PasswordChange,
    events: RequestEvents,
    keep_session: uuid.UUID | None,
) -> JSONResponse | None:
    """Check the current password (it counts towards lockout), apply the policy and history."""
    account = await get_account(session, account_id, lock=True)
    if not account.active:
        raise Problem(401, "Account inactive", headers={"WWW-Authenticate": "Bearer"})
    left = locked_for(account)
    if left is not None:
        return problem_response(account_locked(left))
    ok = await hasher.verify(body.current_password, account.password_hash)
    account.password_checks += 1
    if not ok:
        await record_failure(session, settings, account, events, "wrong_current_password")
        return problem_response(
            invalid(
                "The current password is wrong",
                [field_error("body.current_password", "wrong password", rule="mismatch")],
            )
        )
    account.failed_attempts = 0
    errors = violations(body.new_password, settings, field="body.new_password")
    if settings.password_history > 0:
        recent = (
            await session.execute(
                select(col(PasswordHistory.password_hash))
                .where(col(PasswordHistory.account_id) == account.id)
                .order_by(col(PasswordHistory.id).desc())
                .limit(settings.password_history)
            )
        ).scalars()
        for old in dict.fromkeys([account.password_hash, *recent]):
            if await hasher.verify(body.new_password, old):
                errors.append(history_violation(settings, "body.new_password"))
                break
    if errors:
        await session.flush()
        return problem_response(_policy_problem(errors))
    now = utcnow()
    account.password_hash = await hasher.hash(body.new_password)
    account.password_changed_at = now
    account.password_change_required = False
    account.updated_at = now
    account.updated_by = str(account.id)
    session.add(
        PasswordHistory(account_id=account.id, password_hash=account.password_hash, created_at=now)
    )
    await session.flush()
    keep_ids = (
        select(col(PasswordHistory.id))
        .where(col(PasswordHistory.account_id) == account.id)
        .order_by(col(PasswordHistory.id).desc())
        .limit(max(settings.password_history, 1))
    )
    await session.execute(
        delete(PasswordHistory).where(
            col(PasswordHistory.account_id) == account.id,
            col(PasswordHistory.id).not_in(keep_ids),
        )
    )
    ended = await end_sessions(session, account.id, "password_changed", keep=keep_session)
    await events.emit(
        events.draft(
            "password_changed",
            actor=Actor.of(account),
            resource=account_resource(account),
            details={"other_sessions_ended": ended},
        )
    )
    return None
