"""Calls to identity, records, audit and register with the logged-in user's own token."""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx
from jose import jwt

from portal.sessions import PortalSession, User
from portal.settings import Settings

log = logging.getLogger("ohs.portal")
# Refresh the access token this long before it expires.
REFRESH_MARGIN = 30.0


class Unavailable(Exception):
    """A service did not answer (down, timing out, 5xx): the page says which part is missing."""

    def __init__(self, service: str, detail: str = "") -> None:
        super().__init__(f"{service} unavailable {detail}".strip())
        self.service = service


class SessionEnded(Exception):
    """identity no longer accepts the session (logged out elsewhere, idle, deactivated)."""

    def __init__(self, reason: str = "ended") -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class LoginOutcome:
    """What identity said to a login: tokens, or why not."""

    ok: bool
    kind: str = ""  # invalid | locked | expired | throttled | unavailable | error
    retry_after: int | None = None
    tokens: dict[str, Any] | None = None


def user_of(access_token: str) -> User:
    """The person a token names. The token came straight from identity over our own connection;
    the services it is sent to verify it (signature, expiry, session) on every call."""
    claims = jwt.get_unverified_claims(access_token)
    return User(
        user_id=str(claims["sub"]),
        username=str(claims.get("preferred_username") or claims["sub"]),
        name=str(claims.get("name") or claims["sub"]),
        profile=str(claims.get("profile", "")),
        worker_id=claims.get("worker_id"),
        guardian_of=tuple(claims.get("guardian_of") or ()),
    )


def _retry_after(resp: httpx.Response) -> int | None:
    value = resp.headers.get("retry-after")
    if value and value.isdigit():
        return int(value)
    try:
        body = resp.json()
    except ValueError:
        return None
    ra = body.get("retry_after") if isinstance(body, dict) else None
    return int(ra) if isinstance(ra, int | float) else None


class Backend:
    """The portal's one way to the other services."""

    def __init__(self, http: httpx.AsyncClient, settings: Settings) -> None:
        self.http = http
        self.settings = settings
        self.urls = {
            "identity": settings.identity_url.rstrip("/"),
            "records": settings.records_url.rstrip("/"),
            "audit": settings.audit_url.rstrip("/"),
            "register": settings.register_url.rstrip("/"),
        }

    async def _send(
        self, service: str, method: str, path: str, headers: dict[str, str], **kw: Any
    ) -> httpx.Response:
        try:
            resp = await self.http.request(
                method,
                self.urls[service] + path,
                headers=headers,
                timeout=self.settings.backend_timeout_seconds,
                **kw,
            )
        except httpx.HTTPError as exc:
            raise Unavailable(service, type(exc).__name__) from exc
        if resp.status_code in (502, 503, 504) or resp.status_code >= 500:
            raise Unavailable(service, str(resp.status_code))
        return resp

    async def login(self, username: str, password: str, client: dict[str, str]) -> LoginOutcome:
        """POST identity /auth/login and sort the answer into what the page must say."""
        try:
            resp = await self._send(
                "identity",
                "POST",
                "/auth/login",
                client,
                json={"username": username, "password": password},
            )
        except Unavailable:
            return LoginOutcome(False, "unavailable")
        if resp.status_code == 200:
            return LoginOutcome(True, tokens=resp.json())
        kind = {401: "invalid", 423: "locked", 429: "throttled", 422: "invalid"}.get(
            resp.status_code, "error"
        )
        if resp.status_code == 403:
            problem = resp.json() if resp.headers.get("content-type", "").endswith("json") else {}
            kind = "expired" if "password-expired" in str(problem.get("type", "")) else "error"
        return LoginOutcome(False, kind, retry_after=_retry_after(resp))

    def open(self, sess: PortalSession, tokens: dict[str, Any]) -> None:
        """Keep identity's tokens in the (server-side) session."""
        sess.access_token = tokens["access_token"]
        sess.refresh_token = tokens.get("refresh_token")
        sess.access_expires = time.time() + float(tokens.get("expires_in", 300))
        sess.user = user_of(sess.access_token)

    async def _fresh_token(self, sess: PortalSession) -> str:
        if sess.access_token is None:
            raise SessionEnded("ended")
        if time.time() < sess.access_expires - REFRESH_MARGIN:
            return sess.access_token
        if not sess.refresh_token:
            raise SessionEnded("ended")
        resp = await self._send(
            "identity", "POST", "/auth/refresh", {}, json={"refresh_token": sess.refresh_token}
        )
        if resp.status_code != 200:
            detail = ""
            with contextlib.suppress(ValueError):
                detail = str(resp.json().get("detail", ""))
            raise SessionEnded("idle" if "idle" in detail else "ended")
        self.open(sess, resp.json())
        assert sess.access_token is not None
        return sess.access_token

    async def call(
        self,
        sess: PortalSession,
        service: str,
        method: str,
        path: str,
        client: dict[str, str] | None = None,
        **kw: Any,
    ) -> httpx.Response:
        """A request as the logged-in user; 401 means the session is over."""
        token = await self._fresh_token(sess)
        headers = {**(client or {}), "Authorization": f"Bearer {token}"}
        resp = await self._send(service, method, path, headers, **kw)
        if resp.status_code == 401:
            raise SessionEnded("ended")
        return resp

    async def logout(self, sess: PortalSession) -> None:
        """End the identity session (best effort: the portal forgets it in any case)."""
        if sess.access_token is None:
            return
        try:
            await self.call(sess, "identity", "POST", "/auth/logout")
        except (Unavailable, SessionEnded):
            log.info("logout: identity session already ended or unreachable")
