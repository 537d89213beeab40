"""The identity service's ASGI app: `uvicorn identity.main:app`."""

from __future__ import annotations

from fastapi import FastAPI

from common.app import create_app
from common.outbox import outbox_trail
from identity.auth.router import router as auth_router
from identity.bootstrap import first_start, grant_sweeper
from identity.grants.router import router as grants_router
from identity.keys.router import router as keys_router
from identity.profiles.router import router as profiles_router
from identity.settings import Settings
from identity.trail import SOURCE
from identity.users.router import router as users_router
from identity.verifier import local_verifier

DESCRIPTION = """Accounts, role profiles, lockout, sessions, access grants and signing keys.

* **Tokens**: RS256 JWTs (`kid` in the header) that live at most five minutes, verifiable
  against `/.well-known/jwks.json`. Other services also ask `GET /auth/session` (cached a few
  seconds), so a logged-out session or a deactivated account is refused within seconds.
* **Sessions**: single-use rotating refresh tokens; reusing a rotated one ends the session;
  15 minutes without refresh end it (idle timeout).
* **Lockout**: three consecutive failures lock the account (423 with `Retry-After`; 15
  minutes, doubling per further lock, capped); the security officer can unlock. An unknown
  username locks the same way, so the answer never tells whether an account exists.
* **Throttling**: too many failed logins or refreshes from one client address, or failed logins
  on one username, answer 429 with `Retry-After`.
* **First login**: an account created by the security officer gets tokens with
  `pwd_change: true`, refused everywhere (403 `password-change-required`) except
  `POST /users/me/password`, `GET /users/me` and `POST /auth/logout`; refresh after the change.
* **Password expiry**: after 90 days, login answers 403 `password-expired` with a
  `password_change_token` accepted only by `POST /users/me/password`; then log in again.
* **Password policy**: each broken rule is named in the 422 `errors` (`rule`).
"""


def build_app(settings: Settings | None = None) -> FastAPI:
    """The identity app with its routers and lifespan hooks."""
    return create_app(
        settings or Settings(),
        title="Identity",
        description=DESCRIPTION,
        routers=[auth_router, users_router, grants_router, profiles_router, keys_router],
        hooks=[outbox_trail(SOURCE), first_start, grant_sweeper],
        verifier_factory=local_verifier,
    )


app = build_app()
