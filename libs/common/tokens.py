"""Access-token verification against identity's JWKS, with key rotation and session checks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any

import httpx
from fastapi import Depends, Request
from jose import JWTError, jwk, jwt
from jose.backends.base import Key
from jose.exceptions import ExpiredSignatureError, JWKError, JWTClaimsError
from pydantic import BaseModel, ConfigDict, ValidationError

from common.errors import Problem, forbidden, unauthorized, unavailable
from common.rights import Profile, Right, Scope, scope_of

log = logging.getLogger("common.tokens")
# How many cache lifetimes an answer may serve while identity cannot be reached.
STALE_FACTOR = 6

ALLOWED_ALGORITHMS = ("RS256",)
MIN_REFETCH_INTERVAL = 2.0
# Claim of an access token whose password the security officer chose: until it is changed, the
# token is refused everywhere but by the few identity routes that let the user change it.
PASSWORD_CHANGE_CLAIM = "pwd_change"  # noqa: S105 - a claim name


class GrantClaim(BaseModel):
    """A live access grant carried in the token."""

    model_config = ConfigDict(frozen=True)

    id: str
    worker_id: str | None = None
    reason: str
    expires_at: datetime


class Principal(BaseModel):
    """The verified caller."""

    model_config = ConfigDict(frozen=True)

    user_id: str
    username: str
    display_name: str
    profile: Profile
    session_id: str
    token_id: str
    expires_at: int
    worker_id: str | None = None
    guardian_of: tuple[str, ...] = ()
    grants: tuple[GrantClaim, ...] = ()
    password_change_required: bool = False

    def scope(self, right: Right | str) -> Scope:
        """This caller's scope for a right."""
        return scope_of(self.profile, right)

    def own_worker_ids(self) -> tuple[str, ...]:
        """The files this caller may see as their own (their own and their wards')."""
        own = (self.worker_id,) if self.worker_id else ()
        return own + self.guardian_of

    def grant_for(self, worker_id: str | None) -> GrantClaim | None:
        """A live grant covering this worker (or all workers), if any."""
        now = time.time()
        for grant in self.grants:
            if grant.expires_at.timestamp() > now and grant.worker_id in (None, worker_id):
                return grant
        return None


SessionChecker = Callable[[Principal, str], Awaitable[bool]]


class TokenVerifier:
    """Verifies RS256 JWTs locally against a cached JWKS; refetches once on an unknown kid."""

    def __init__(
        self,
        *,
        jwks_url: str,
        audience: str,
        issuer: str,
        http: httpx.AsyncClient,
        cache_seconds: float = 300,
        session_checker: SessionChecker | None = None,
    ) -> None:
        self.jwks_url = jwks_url
        self.audience = audience
        self.issuer = issuer
        self.http = http
        self.cache_seconds = cache_seconds
        self.session_checker = session_checker
        self._keys: dict[str, dict[str, Any]] = {}
        # Each key parsed once, not per request (about 0.1 ms of the verification).
        self._parsed: dict[str, Key] = {}
        self._fetched_at = 0.0
        self._forced_at = -MIN_REFETCH_INTERVAL
        self._lock = asyncio.Lock()

    async def _refresh(self, *, force: bool) -> None:
        async with self._lock:
            now = time.monotonic()
            if not force and now - self._fetched_at < self.cache_seconds:
                return
            if force:
                # Tokens with made-up kids must not turn into a flood of JWKS requests.
                if now - self._forced_at < MIN_REFETCH_INTERVAL:
                    return
                self._forced_at = now
            try:
                resp = await self.http.get(self.jwks_url, timeout=5)
                resp.raise_for_status()
                keys = resp.json()["keys"]
            except (httpx.HTTPError, KeyError, ValueError) as exc:
                if not self._keys:
                    raise unavailable("Signing keys cannot be fetched from identity") from exc
                return
            self._keys = {k["kid"]: k for k in keys if "kid" in k}
            self._parsed = {}
            self._fetched_at = time.monotonic()

    async def key_for(self, kid: str) -> dict[str, Any] | None:
        """The public key for a kid; refetch the JWKS once when it is unknown."""
        await self._refresh(force=False)
        if kid not in self._keys:
            await self._refresh(force=True)
        return self._keys.get(kid)

    async def verify(self, token: str) -> Principal:
        """Verify signature, algorithm, expiry, audience, issuer; then the session."""
        try:
            header = jwt.get_unverified_header(token)
        except JWTError as exc:
            raise unauthorized("Malformed token") from exc
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in ALLOWED_ALGORITHMS or not isinstance(kid, str):
            raise unauthorized("Token algorithm or key id not accepted")
        key = await self.key_for(kid)
        if key is None:
            raise unauthorized("Token signed by an unknown key")
        try:
            parsed = self._parsed.get(kid)
            if parsed is None:
                parsed = self._parsed[kid] = jwk.construct(key, alg)
            claims = jwt.decode(
                token,
                parsed,
                algorithms=list(ALLOWED_ALGORITHMS),
                audience=self.audience,
                issuer=self.issuer,
                options={"require_exp": True, "require_sub": True, "require_jti": True},
            )
        except ExpiredSignatureError as exc:
            raise unauthorized("Token expired") from exc
        except (JWTClaimsError, JWTError, JWKError) as exc:
            raise unauthorized("Token rejected") from exc
        principal = principal_from_claims(claims)
        if self.session_checker is not None and not await self.session_checker(principal, token):
            raise unauthorized("Session ended")
        return principal


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    """Build the Principal from verified claims."""
    try:
        return Principal(
            user_id=claims["sub"],
            username=claims.get("preferred_username") or claims["sub"],
            display_name=claims.get("name") or claims["sub"],
            profile=claims["profile"],
            session_id=claims["sid"],
            token_id=claims["jti"],
            expires_at=claims["exp"],
            worker_id=claims.get("worker_id"),
            guardian_of=tuple(claims.get("guardian_of") or ()),
            grants=tuple(claims.get("grants") or ()),
            password_change_required=claims.get(PASSWORD_CHANGE_CLAIM) is True,
        )
    except (KeyError, ValidationError) as exc:
        raise unauthorized("Token lacks required claims") from exc


class HttpSessionChecker:
    """Asks identity whether a session is still open; caches answers for a few seconds."""

    def __init__(self, http: httpx.AsyncClient, identity_url: str, ttl_seconds: float) -> None:
        self.http = http
        self.url = identity_url.rstrip("/") + "/auth/session"
        self.ttl = ttl_seconds
        self._cache: dict[str, tuple[float, bool]] = {}

    async def __call__(self, principal: Principal, token: str) -> bool:
        """True while the session is open."""
        now = time.monotonic()
        hit = self._cache.get(principal.session_id)
        if hit and now - hit[0] < self.ttl:
            return hit[1]
        resp: httpx.Response | None = None
        for _ in range(2):
            with contextlib.suppress(httpx.HTTPError):
                resp = await self.http.get(
                    self.url, headers={"Authorization": f"Bearer {token}"}, timeout=5
                )
                if resp.status_code < 500:
                    break
        if resp is None or resp.status_code >= 500:
            # A busy or restarting identity should not refuse a session it confirmed moments
            # ago; past the grace the answer is a clear 503, never a guess.
            if hit and now - hit[0] < self.ttl * STALE_FACTOR:
                log.warning("identity unavailable; using a %.0fs old session answer", now - hit[0])
                return hit[1]
            raise unavailable("Identity cannot confirm the session")
        alive = resp.status_code == 200
        if len(self._cache) > 50_000:
            self._cache.clear()
        self._cache[principal.session_id] = (now, alive)
        return alive


def bearer_token(request: Request) -> str:
    """The bearer token of the request, or 401."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized()
    return token.strip()


def password_change_required() -> Problem:
    """403 for a token issued before the first-login password change."""
    return Problem(
        403,
        "Password change required: change it with identity's POST /users/me/password, "
        "then refresh or log in again",
        title="Password change required",
        type_="https://ohs.example/problems/password-change-required",
    )


async def get_verified_user(request: Request) -> Principal:
    """Verify the bearer token, accepting one that still awaits its password change."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    verifier: TokenVerifier = request.app.state.verifier
    principal = await verifier.verify(bearer_token(request))
    request.state.principal = principal
    return principal


async def get_current_user(request: Request) -> Principal:
    """Verify the bearer token on every request; 403 until a required password change is done."""
    principal = await get_verified_user(request)
    if principal.password_change_required:
        raise password_change_required()
    return principal


CurrentUser = Annotated[Principal, Depends(get_current_user)]
# Only for the few routes a user must reach to change a password the officer chose.
PendingPasswordChangeUser = Annotated[Principal, Depends(get_verified_user)]


class Denied(Problem):
    """403 for a right the caller's profile lacks; services may trace it before answering."""

    def __init__(self, principal: Principal, right: Right | str, detail: str | None = None) -> None:
        super().__init__(403, detail or f"Profile {principal.profile.value} may not {right}")
        self.principal = principal
        self.right = str(right)


class Authorization(BaseModel):
    """A caller with the scope they hold for one right."""

    model_config = ConfigDict(frozen=True)

    principal: Principal
    right: Right
    scope: Scope


def require_right(right: Right | str) -> Callable[[Principal], Awaitable[Authorization]]:
    """The dependency callable: the caller must hold `right` in some scope.

    Typed for module-level aliases mypy accepts as types:
    `Access = Annotated[Authorization, Depends(require_right(Right.X))]`.
    """
    wanted = Right(right)

    async def dependency(principal: CurrentUser) -> Authorization:
        scope = principal.scope(wanted)
        if scope is Scope.NONE:
            raise Denied(principal, wanted)
        return Authorization(principal=principal, right=wanted, scope=scope)

    return dependency


def RequireRight(right: Right | str) -> Any:
    """Dependency: the caller must hold `right` in some scope; yields the Authorization.

    Returns `Annotated[Authorization, Depends(require_right(right))]`; built by a call, mypy does
    not accept it as a type, so typed code spells that alias out itself.
    """
    return Annotated[Authorization, Depends(require_right(right))]


__all__ = [
    "Authorization",
    "CurrentUser",
    "Denied",
    "PendingPasswordChangeUser",
    "Principal",
    "RequireRight",
    "TokenVerifier",
    "forbidden",
    "require_right",
]
