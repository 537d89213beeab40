"""Typed values of the gap policy (the tables themselves are in audit.projections.models)."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any


@dataclass
class SequenceStat:
    """How far a source's numbers reached in the store, and how many of its events it holds."""

    source: str
    events: int
    max_seq: int
    last_occurred_at: datetime
    last_recorded_at: datetime

    @classmethod
    def empty(cls, source: str, occurred_at: datetime, recorded_at: datetime) -> SequenceStat:
        """A source never seen before."""
        return cls(source, 0, 0, occurred_at, recorded_at)

    def row(self) -> dict[str, Any]:
        """The source_stat row."""
        return asdict(self)


@dataclass(frozen=True)
class OpenGap:
    """An open gap as the detector reads it."""

    id: uuid.UUID
    source: str
    from_seq: int
    to_seq: int
    opened_at: datetime


@dataclass(frozen=True)
class ResendRequest:
    """What the consumer asks a relay to publish again (the outbox-resend message).

    to_seq None is open-ended: everything the relay published from from_seq on (the relay
    bounds it to MAX_RESEND rows); asked when a broker lost its log."""

    gap_id: uuid.UUID
    source: str
    from_seq: int
    to_seq: int | None

    def message(self, requested_at: str) -> dict[str, Any]:
        """The JSON body on the resend topic."""
        return {
            "source": self.source,
            "from_seq": self.from_seq,
            "to_seq": self.to_seq,
            "gap_id": str(self.gap_id),
            "requested_at": requested_at,
        }
