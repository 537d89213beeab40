"""Is the broker's log of a partition the one a saved position points into? (pure)"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


def fingerprint(value: bytes | None) -> str:
    """What identifies a message of a log: the SHA-256 of its value."""
    return hashlib.sha256(value or b"").hexdigest()


@dataclass(frozen=True)
class SavedPosition:
    """The next offset to read of a partition, and the fingerprint of the message before it."""

    offset: int
    fingerprint: str | None = None


def reset_reason(saved: SavedPosition, earliest: int, end: int, found: str | None) -> str | None:
    """Why the log is a different one (then read it again from its earliest offset), or None.

    `found` is the fingerprint of the message now at saved.offset - 1, None when it was not
    read. A log shorter than the position, or one that no longer holds it, is another log; so
    is one that has grown past the position with another message just before it."""
    if saved.offset > end:
        return f"saved position {saved.offset} is beyond the end of the log ({end})"
    if saved.offset < earliest:
        return f"saved position {saved.offset} is before the earliest offset ({earliest})"
    if (
        saved.fingerprint is not None
        and found is not None
        and saved.offset > earliest
        and found != saved.fingerprint
    ):
        return f"another message at offset {saved.offset - 1}: a different log"
    return None
