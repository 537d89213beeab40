"""Upper bounds of an actor's mass-access counts inside one batch, between two exact counts.

The mass-access rule counts, for each file opening, the distinct files the actor opened in the
window (t - minutes, t] at positions up to the event's. Counting in SQL for every event of an
actor nearing the threshold was the projector's largest cost. After one exact count k at an
event e0 (time t0, position p0), the count at a later event e of the same actor with t >= t0
is at most k, plus the actor's events at positions (p0, p], plus its events at positions up to
p0 that occurred after t0 (a window ending later may hold them; the window's left edge only
moved forward, so it lost nothing else). The last are counted in the batch here, and before it
by the caller (its events stored before the batch that occurred after its first one in the
batch). Under both thresholds, the exact count is not needed: the rule cannot fire. Pure.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from audit.core.models import StoredEvent


@dataclass(frozen=True)
class _Exact:
    occurred_at: datetime
    index: int
    opened: int
    outside: int


class OpeningBounds:
    """Per actor of a batch: the last exact count and the events around it (position order)."""

    def __init__(self, batch: Sequence[StoredEvent], late_before: Mapping[str, int]) -> None:
        """`late_before`: per actor, how many of its events stored before the batch occurred
        after its earliest event in the batch (an actor not given is not bounded)."""
        self.late_before = dict(late_before)
        self.positions: dict[str, list[int]] = {}
        self.times: dict[str, list[datetime]] = {}
        # Prefix sums of events not opened in a care relationship (each may count as outside).
        self.outside: dict[str, list[int]] = {}
        for item in batch:
            actor = item.event.actor
            # Only the actors given are ever bounded (the crowded ones): index no others.
            if actor is None or actor.user_id not in self.late_before:
                continue
            key = actor.user_id
            if key not in self.positions:
                self.positions[key], self.times[key], self.outside[key] = [], [], [0]
            self.positions[key].append(item.position)
            self.times[key].append(item.event.occurred_at)
            self.outside[key].append(self.outside[key][-1] + (not _in_care(item)))
        self.exact: dict[str, _Exact] = {}

    def _index(self, item: StoredEvent) -> tuple[str, int] | None:
        actor = item.event.actor
        if actor is None or actor.user_id not in self.late_before:
            return None
        positions = self.positions.get(actor.user_id, [])
        i = bisect_left(positions, item.position)
        if i < len(positions) and positions[i] == item.position:
            return actor.user_id, i
        return None

    def note_exact(self, item: StoredEvent, opened: int, outside: int) -> None:
        """Remember an exact count; later events of the actor are bounded from it."""
        found = self._index(item)
        if found is None:
            return
        actor, i = found
        t0 = item.event.occurred_at
        late = self.late_before[actor] + sum(1 for t in self.times[actor][:i] if t > t0)
        self.exact[actor] = _Exact(t0, i, opened + late, outside + late)

    def bound(self, item: StoredEvent) -> tuple[int, int] | None:
        """(opened, outside) upper bounds at this event, or None when only a count will do."""
        found = self._index(item)
        if found is None:
            return None
        actor, i = found
        exact = self.exact.get(actor)
        if exact is None or i <= exact.index or item.event.occurred_at < exact.occurred_at:
            return None
        outside = self.outside[actor]
        return (
            exact.opened + (i - exact.index),
            exact.outside + (outside[i + 1] - outside[exact.index + 1]),
        )


def _in_care(item: StoredEvent) -> bool:
    details = item.event.details or {}
    return details.get("care_relationship") is True
