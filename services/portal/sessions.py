"""Server-side sessions: the browser holds a random id in an HttpOnly SameSite=Strict cookie;
the tokens identity issued stay here and never reach the page."""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

COOKIE = "ohs_portal"


@dataclass
class User:
    """The logged-in person, from the claims of the token identity issued."""

    user_id: str
    username: str
    name: str
    profile: str
    worker_id: str | None = None
    guardian_of: tuple[str, ...] = ()

    def files(self) -> tuple[str, ...]:
        """The files whose history this person may see: their own, then their wards'."""
        own = (self.worker_id,) if self.worker_id else ()
        return own + tuple(w for w in self.guardian_of if w != self.worker_id)


@dataclass
class PortalSession:
    """One browser's session; anonymous until login."""

    sid: str
    csrf: str
    created: float = field(default_factory=time.time)
    last_active: float = field(default_factory=time.time)
    user: User | None = None
    access_token: str | None = None
    refresh_token: str | None = None
    access_expires: float = 0.0
    flash: dict[str, Any] | None = None
    # Whether identity holds that this worker saw the file notice (None: not asked yet).
    notice_seen: bool | None = None
    # The desk's last integrity verification run from this session (time and verdict).
    last_integrity: dict[str, Any] | None = None

    def check_csrf(self, token: str | None) -> bool:
        """True when the form carried this session's token."""
        # Bytes: compare_digest refuses str with non-ASCII characters, which any form may carry.
        return bool(token) and hmac.compare_digest(self.csrf.encode(), str(token).encode())


class SessionStore:
    """Sessions in memory (one portal process). A restart logs everyone out: nothing is lost,
    identity still holds the sessions and ends them at their idle timeout."""

    def __init__(self, max_sessions: int, anonymous_seconds: int) -> None:
        self.max_sessions = max_sessions
        self.anonymous_seconds = anonymous_seconds
        self._sessions: dict[str, PortalSession] = {}

    def new(self) -> PortalSession:
        """A fresh anonymous session with its CSRF token."""
        self._evict()
        sess = PortalSession(sid=secrets.token_urlsafe(32), csrf=secrets.token_urlsafe(32))
        self._sessions[sess.sid] = sess
        return sess

    def get(self, sid: str | None) -> PortalSession | None:
        """The session of a cookie, if it is known."""
        if not sid:
            return None
        return self._sessions.get(sid)

    def rotate(self, old: PortalSession) -> PortalSession:
        """A new id and CSRF token at login (no session fixation); the old id is forgotten."""
        self._sessions.pop(old.sid, None)
        fresh = self.new()
        fresh.flash = old.flash
        return fresh

    def drop(self, sess: PortalSession) -> None:
        """Forget a session."""
        self._sessions.pop(sess.sid, None)

    def _evict(self) -> None:
        if len(self._sessions) < self.max_sessions:
            return
        now = time.time()
        for sid, sess in list(self._sessions.items()):
            if sess.user is None and now - sess.created > self.anonymous_seconds:
                del self._sessions[sid]
        while len(self._sessions) >= self.max_sessions:
            oldest = min(self._sessions.values(), key=lambda s: s.last_active)
            del self._sessions[oldest.sid]
