"""The audit log's verifier key, which history pages hand to the browser to pin and check with."""

from __future__ import annotations

import logging
import re
import time

import httpx

log = logging.getLogger("ohs.portal")
# <name>+<8 hex digits of key hash>+<base64 of 0x01 and the 32-byte Ed25519 key: 44 characters>
VERIFIER_KEY = re.compile(r"^[^\s+]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$")
RETRY_SECONDS = 5.0


def valid_key(value: str) -> bool:
    """Whether a string has the shape of a signed-note Ed25519 verifier key."""
    return bool(VERIFIER_KEY.match(value))


class LogKey:
    """The operator's configured key, else the one audit publishes at GET /log/key (kept once
    read, asked again at most every few seconds while audit does not answer)."""

    def __init__(self, http: httpx.AsyncClient, audit_url: str, configured: str = "") -> None:
        self.http = http
        self.url = audit_url.rstrip("/") + "/log/key"
        self.value = configured
        self.tried = float("-inf")

    async def get(self) -> str:
        """The verifier key string, '' while it is unknown (the page then verifies nothing)."""
        if self.value or time.monotonic() - self.tried < RETRY_SECONDS:
            return self.value
        self.tried = time.monotonic()
        try:
            resp = await self.http.get(self.url, timeout=2.0)
            key = resp.json().get("verifier_key") if resp.status_code == 200 else None
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            log.warning("audit log key not available yet: %s", exc)
            return ""
        if isinstance(key, str) and valid_key(key):
            self.value = key
        else:
            log.warning("audit GET /log/key answered %s without a verifier key", resp.status_code)
        return self.value
