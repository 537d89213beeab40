"""Building and verifying the hash chain of the event store."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from audit.core.hashing import GENESIS, canonical_json, link_hash
from audit.core.models import Break, ChainRow
from common.events import AccessEvent, format_time


def body_of(event: AccessEvent) -> str:
    """The canonical text of an envelope, as stored and hashed."""
    return canonical_json(event.model_dump(mode="json", by_alias=True))


def body_and_columns(event: AccessEvent) -> tuple[str, dict[str, Any]]:
    """body_of() and columns_of() from one dump of the envelope (the append path's form)."""
    data = event.model_dump(mode="json", by_alias=True)
    actor = data["actor"]
    return canonical_json(data), {
        "event_id": data["event_id"],
        "source": data["source"],
        "source_seq": data["source_seq"],
        "occurred_at": data["occurred_at"],
        "worker_id": data["worker_id"],
        "actor_user_id": actor["user_id"] if actor else None,
        "actor_profile": actor["profile"] if actor else None,
        "action": data["action"],
        "outcome": data["outcome"],
    }


def columns_of(event: AccessEvent) -> dict[str, Any]:
    """The indexed columns derived from an envelope (checked against the body on verify)."""
    return {
        "event_id": str(event.event_id),
        "source": event.source,
        "source_seq": event.source_seq,
        "occurred_at": format_time(event.occurred_at),
        "worker_id": event.worker_id,
        "actor_user_id": event.actor.user_id if event.actor else None,
        "actor_profile": event.actor.profile if event.actor else None,
        "action": event.action,
        "outcome": event.outcome,
    }


def link(
    prev_hash: str, start: int, recorded_at: datetime, events: Iterable[AccessEvent]
) -> Iterator[tuple[int, str, str, str]]:
    """(position, prev_hash, hash, body) for events appended after a head."""
    stamp = format_time(recorded_at)
    position = start
    for event in events:
        position += 1
        body = body_of(event)
        digest = link_hash(prev_hash, position, stamp, body)
        yield position, prev_hash, digest, body
        prev_hash = digest


class ChainVerifier:
    """Feeds rows in position order; remembers the first broken link."""

    def __init__(self) -> None:
        self.expected_position = 1
        self.prev_hash = GENESIS
        self.checked = 0
        self.broken_count = 0
        self.broken: Break | None = None

    def feed(self, row: ChainRow) -> Break | None:
        """Check one row against the previous one; returns its problem, if any."""
        self.checked += 1
        found = self._check(row)
        self.expected_position = row.position + 1
        self.prev_hash = row.hash
        if found:
            self.broken_count += 1
            if self.broken is None:
                self.broken = found
        return found

    def _check(self, row: ChainRow) -> Break | None:
        if row.position != self.expected_position:
            what = "missing (deleted)" if row.position > self.expected_position else "unexpected"
            return Break(
                self.expected_position,
                f"position {self.expected_position} {what}",
                str(self.expected_position),
                str(row.position),
            )
        if row.prev_hash != self.prev_hash:
            return Break(row.position, "previous-hash link broken", self.prev_hash, row.prev_hash)
        digest = link_hash(row.prev_hash, row.position, format_time(row.recorded_at), row.body)
        if digest != row.hash:
            return Break(row.position, "content does not match its hash", row.hash, digest)
        try:
            event = AccessEvent.model_validate_json(row.body)
        except ValueError:
            return Break(row.position, "body is not a valid access-event/1")
        expected = columns_of(event)
        for name, value in expected.items():
            actual = row.columns.get(name, value)
            if actual != value:
                return Break(row.position, f"column {name} differs from the hashed body")
        return None
