"""The trust boundary of /auth: lockout state for unknown usernames, and login throttling.

Unknown usernames: a name with no account keeps the same failure counter, lock count and lock
time an account keeps on its row (table login_failure, keyed by the normalised name). The row
is locked for the whole attempt, as the account row is, so concurrent attempts serialise the same
way, and after three failures the name answers the same 423 with the same Retry-After.

Throttling: fixed-window counters (table login_throttle), written in the request's transaction.
- per client address: failed credential checks (401) of /auth/login and failed refreshes;
- per username (existing or not): every failed login (401 and 423), and refreshes per account.
A request over a limit gets 429 with Retry-After before any password is checked. Successful
logins never count, so a busy office behind one address is not slowed down by its own users.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from common.db import utcnow
from common.errors import Problem
from identity.settings import Settings

PROBLEMS = "https://ohs.example/problems/"


@dataclass(frozen=True)
class Limit:
    """At most `limit` hits per `window` seconds for keys starting with `prefix`."""

    prefix: str
    limit: int
    window: int

    def key(self, value: str) -> str:
        """The counter's key for one client or account."""
        return f"{self.prefix}:{value}"[:160]


def ip_limit(settings: Settings) -> Limit:
    """Failed credential checks per client address."""
    return Limit("ip", settings.throttle_ip_failures, settings.throttle_ip_window_seconds)


def account_limit(settings: Settings) -> Limit:
    """Failed logins per username (existing or not)."""
    return Limit(
        "user", settings.throttle_account_failures, settings.throttle_account_window_seconds
    )


def refresh_limit(settings: Settings) -> Limit:
    """Refreshes per account."""
    return Limit(
        "refresh", settings.throttle_refresh_per_account, settings.throttle_refresh_window_seconds
    )


def throttled(seconds: float) -> Problem:
    """429 with the seconds until the window ends in Retry-After."""
    wait = max(1, math.ceil(seconds))
    return Problem(
        429,
        f"Too many failed attempts; retry in {wait} s",
        type_=PROBLEMS + "rate-limited",
        headers={"Retry-After": str(wait)},
        retry_after=wait,
    )


async def blocked_for(session: AsyncSession, checks: list[tuple[Limit, str]]) -> float | None:
    """Seconds until every counter is under its limit again, or None when none is over."""
    if not checks:
        return None
    now = utcnow()
    keys = {limit.key(value): limit for limit, value in checks}
    rows = await session.execute(
        text("SELECT key, window_start, hits FROM login_throttle WHERE key = ANY(:keys)"),
        {"keys": list(keys)},
    )
    waits = []
    for key, window_start, hits in rows:
        limit = keys[key]
        ends = window_start + timedelta(seconds=limit.window)
        if ends > now and hits >= limit.limit:
            waits.append((ends - now).total_seconds())
    return max(waits) if waits else None


_HIT = text(
    """
    INSERT INTO login_throttle AS t (key, window_start, hits) VALUES (:key, :now, 1)
    ON CONFLICT (key) DO UPDATE SET
      window_start = CASE WHEN t.window_start <= :expired THEN :now ELSE t.window_start END,
      hits = CASE WHEN t.window_start <= :expired THEN 1 ELSE t.hits + 1 END,
      traced = CASE WHEN t.window_start <= :expired THEN false ELSE t.traced END
    RETURNING hits
    """
)


async def hit(session: AsyncSession, limit: Limit, value: str) -> int:
    """Count one hit in the current window; return the window's count."""
    now = utcnow()
    result = await session.execute(
        _HIT,
        {"key": limit.key(value), "now": now, "expired": now - timedelta(seconds=limit.window)},
    )
    return int(result.scalar_one())


async def first_refusal(session: AsyncSession, limit: Limit, value: str) -> bool:
    """True once per window of a counter over its limit: that refusal is traced, later ones not."""
    result = await session.execute(
        text("UPDATE login_throttle SET traced = true WHERE key = :key AND NOT traced RETURNING 1"),
        {"key": limit.key(value)},
    )
    return result.first() is not None


@dataclass
class UnknownName:
    """The lockout state of a username that has no account (mirrors the account columns)."""

    username: str
    failed_attempts: int
    lock_count: int
    locked_until: datetime | None


async def unknown_name(session: AsyncSession, username: str) -> UnknownName:
    """The state of an unknown username, its row locked until the transaction ends."""
    await session.execute(
        text("INSERT INTO login_failure (username) VALUES (:u) ON CONFLICT DO NOTHING"),
        {"u": username},
    )
    row = (
        await session.execute(
            text(
                "SELECT failed_attempts, lock_count, locked_until FROM login_failure "
                "WHERE username = :u FOR UPDATE"
            ),
            {"u": username},
        )
    ).one()
    return UnknownName(username, row.failed_attempts, row.lock_count, row.locked_until)


async def save_unknown_name(session: AsyncSession, state: UnknownName) -> None:
    """Write back the counters of an unknown username."""
    await session.execute(
        text(
            "UPDATE login_failure SET failed_attempts = :f, lock_count = :c, locked_until = :l, "
            "updated_at = now() WHERE username = :u"
        ),
        {
            "f": state.failed_attempts,
            "c": state.lock_count,
            "l": state.locked_until,
            "u": state.username,
        },
    )


async def forget_name(session: AsyncSession, username: str) -> None:
    """A new account starts with a clean slate, whatever was tried under its name before."""
    await session.execute(text("DELETE FROM login_failure WHERE username = :u"), {"u": username})


async def purge(session: AsyncSession, settings: Settings) -> None:
    """Drop counters whose window ended and unknown names untouched for the retention time."""
    now = utcnow()
    longest = max(
        settings.throttle_ip_window_seconds,
        settings.throttle_account_window_seconds,
        settings.throttle_refresh_window_seconds,
    )
    await session.execute(
        text("DELETE FROM login_throttle WHERE window_start < :before"),
        {"before": now - timedelta(seconds=longest)},
    )
    await session.execute(
        text(
            "DELETE FROM login_failure WHERE updated_at < :before "
            "AND (locked_until IS NULL OR locked_until < :now)"
        ),
        {"before": now - timedelta(seconds=settings.unknown_name_retention_seconds), "now": now},
    )
