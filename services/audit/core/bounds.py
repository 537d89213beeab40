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
from audit.core.rules import OPENING_ACTIONS


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


OPENING_SOURCES = frozenset({"records", "register"})


def may_count_as_opening(item: StoredEvent) -> bool:
    """Whether the mass-access SQL might count this event as a file opened (a superset: the
    flags it matches in the body text, seeding and care, are left to the caller)."""
    event = item.event
    return (
        event.actor is not None
        and event.worker_id is not None
        and event.outcome == "success"
        and event.source in OPENING_SOURCES
        and event.action in OPENING_ACTIONS
    )


@dataclass
class _Opened:
    since: datetime
    opened: set[str]
    outside: set[str]


class QuietActors:
    """Across batches, per actor: files it opened after a time, all and outside a care
    relationship, as supersets kept up to date by every batch folded since.

    An entry is made from an exact query: every opening stored up to a batch's end that
    occurred after `since`. Each later batch adds all of its openings, whenever they occurred
    and whatever their flags. So while batches follow each other without a gap, a batch whose
    window starts at or after the entry's `since` holds no opening of the actor outside the
    sets. Sets at most at both thresholds mean the mass-access counts of every event's window
    of the batch are too: the actor is quiet, with no count run. A reader who keeps opening
    the same files (200 reads a second over 200 files in the bench) cost the projector a scan
    of its whole window per batch; the sets only grow, and past a threshold the exact query
    runs again and makes a fresh entry. Pure; one per projector process."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self.entries: dict[str, _Opened] = {}
        self.folded: int | None = None
        # The batch being folded: each actor's openings in it, (worker, outside a care team).
        self.batch: dict[str, list[tuple[str, bool]]] = {}

    def start_batch(self, stored: Sequence[StoredEvent]) -> None:
        """A batch is being folded: drop every entry unless it directly follows the last one
        (another projector folded in between, or a failed batch is folded again), then add
        its openings to the entries."""
        if not stored:
            return
        if self.folded is None or stored[0].position != self.folded + 1:
            self.entries.clear()
        self.folded = stored[-1].position
        self.batch = {}
        for item in stored:
            actor = item.event.actor
            if actor is not None and may_count_as_opening(item):
                opening = (str(item.event.worker_id), not _in_care(item))
                self.batch.setdefault(actor.user_id, []).append(opening)
        for actor_id, openings in self.batch.items():
            entry = self.entries.get(actor_id)
            if entry is not None:
                _add(entry, openings)

    def quiet(self, actor: str, since: datetime, outside_max: int, opened_max: int) -> bool:
        """Whether the actor's openings after `since` are known to stay within both limits."""
        entry = self.entries.get(actor)
        return (
            entry is not None
            and since >= entry.since
            and len(entry.opened) <= opened_max
            and len(entry.outside) <= outside_max
        )

    def remember(self, actor: str, since: datetime, opened: set[str], outside: set[str]) -> None:
        """An exact answer for the batch being folded: the actor's openings after `since` up
        to its end (all, and outside a care relationship)."""
        if actor not in self.entries and len(self.entries) >= self.capacity:
            self.entries.clear()
        entry = self.entries[actor] = _Opened(since, set(opened), set(outside))
        # The query stopped at the batch's last window event; the rest of the batch is added.
        _add(entry, self.batch.get(actor, []))


def _add(entry: _Opened, openings: Sequence[tuple[str, bool]]) -> None:
    for worker, outside in openings:
        entry.opened.add(worker)
        if outside:
            entry.outside.add(worker)
