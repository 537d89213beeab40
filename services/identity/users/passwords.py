"""Password hashing (argon2id through passlib) and the password policy."""

from __future__ import annotations

import asyncio
import re
import secrets
from functools import cache
from pathlib import Path
from typing import Any

from passlib.hash import argon2

from identity.settings import Settings

COMMON_PASSWORDS = Path(__file__).resolve().parents[1] / "common_passwords.txt"
FIELD = "password"


class Hasher:
    """argon2id with the cost of the settings; hashing runs in a thread, off the event loop."""

    def __init__(self, settings: Settings) -> None:
        self._argon2 = argon2.using(
            memory_cost=settings.argon2_memory_kib,
            rounds=settings.argon2_time_cost,
            parallelism=settings.argon2_parallelism,
        )
        # Unknown usernames are checked against this so they cost the same time.
        self.dummy_hash = self._argon2.hash(secrets.token_urlsafe(24))

    async def hash(self, password: str) -> str:
        """The argon2id hash of a password."""
        return await asyncio.to_thread(self._argon2.hash, password)

    async def verify(self, password: str, hashed: str) -> bool:
        """True when the password matches the hash."""
        try:
            return await asyncio.to_thread(self._argon2.verify, password, hashed)
        except (ValueError, TypeError):
            return False


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, lower-cased."""
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(
        line.strip().lower() for line in lines if line.strip() and not line.startswith("#")
    )


def _core(password: str) -> str:
    # "Password2024!" is "password" with decorations: compare the letters too.
    return re.sub(r"[^a-z]", "", password.lower())


def violations(password: str, settings: Settings, *, field: str = FIELD) -> list[dict[str, Any]]:
    """Every policy rule the password breaks, each named (empty when it is acceptable)."""
    out: list[dict[str, Any]] = []

    def broken(rule: str, message: str) -> None:
        out.append({"field": field, "rule": rule, "message": message, "type": "password_policy"})

    if len(password) < settings.password_min_length:
        broken("min_length", f"at least {settings.password_min_length} characters are required")
    if len(password) > settings.password_max_length:
        broken("max_length", f"at most {settings.password_max_length} characters are allowed")
    if settings.password_require_letters and not any(c.isalpha() for c in password):
        broken("letters", "at least one letter is required")
    if settings.password_require_digits and not any(c.isdigit() for c in password):
        broken("digits", "at least one digit is required")
    if settings.password_require_special and all(c.isalnum() or c.isspace() for c in password):
        broken("special", "at least one special character (not a letter or digit) is required")
    common = common_passwords()
    core = _core(password)
    if password.lower() in common or (len(core) >= 4 and core in common):
        broken("common", "this password is too common (it is on the list of known passwords)")
    return out


def history_violation(settings: Settings, field: str = "new_password") -> dict[str, Any]:
    """The rule broken by reusing one of the last passwords."""
    return {
        "field": field,
        "rule": "history",
        "message": f"must differ from the last {settings.password_history} passwords",
        "type": "password_policy",
    }
