"""Lifespan hooks: first-start setup (signing key, admin account) and the grant-expiry sweep."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import select, text
from sqlmodel import col

from common.errors import Problem
from common.rights import Profile
from identity.auth import guard
from identity.grants.service import trace_expired
from identity.keys.service import ensure_key
from identity.settings import Settings
from identity.trail import background_events
from identity.users.models import Account
from identity.users.passwords import Hasher
from identity.users.schemas import UserCreate
from identity.users.service import create_user

log = logging.getLogger("identity.bootstrap")
ADMIN = "admin"
_ADMIN_LOCK = 0x1D_AD_01


async def ensure_admin(app: FastAPI) -> None:
    """Create the security officer `admin` at first start (never touched afterwards)."""
    settings: Settings = app.state.settings
    async with app.state.sessionmaker() as session:
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADMIN_LOCK})
        exists = await session.execute(
            select(col(Account.id)).where(col(Account.username) == ADMIN)
        )
        if exists.first() is not None:
            return
        if settings.bootstrap_admin_password is not None:
            password = settings.bootstrap_admin_password.get_secret_value()
        else:
            # Development only: Settings refuses a missing password elsewhere.
            password = f"Adm-{secrets.token_urlsafe(12)}-9"
            log.warning("BOOTSTRAP_ADMIN_PASSWORD unset: admin password is %s", password)
        body = UserCreate(
            username=ADMIN,
            display_name="Security officer (bootstrap)",
            profile=Profile.SECURITY_OFFICER,
            password=password,
        )
        try:
            await create_user(
                session, settings, app.state.hasher, body, None, background_events(app, session)
            )
        except Problem as exc:
            rules = ", ".join(e.get("rule", "?") for e in exc.extra.get("errors", []))
            raise RuntimeError(
                f"BOOTSTRAP_ADMIN_PASSWORD is refused by the password policy ({rules}); "
                "set a stronger one"
            ) from exc
        await session.commit()
        log.info("created the bootstrap security officer %r", ADMIN)


@asynccontextmanager
async def first_start(app: FastAPI) -> AsyncIterator[None]:
    """Password hasher, signing key and bootstrap admin, before the first request."""
    settings: Settings = app.state.settings
    app.state.hasher = Hasher(settings)
    async with app.state.sessionmaker() as session:
        await ensure_key(session, settings)
        await session.commit()
    await ensure_admin(app)
    yield


async def _sweep(app: FastAPI) -> None:
    settings: Settings = app.state.settings
    while True:
        await asyncio.sleep(settings.grant_sweep_seconds)
        try:
            async with app.state.sessionmaker() as session:
                await trace_expired(session, background_events(app, session))
                await guard.purge(session, settings)
                await session.commit()
        except Exception:
            log.exception("grant expiry sweep failed; retrying")


@asynccontextmanager
async def grant_sweeper(app: FastAPI) -> AsyncIterator[None]:
    """Trace grant_expired for grants that ran out on their own."""
    task = asyncio.create_task(_sweep(app))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
