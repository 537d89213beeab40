"""The consumer's side of the gap policy: grace periods, tail gaps from heartbeats, resend
requests, patience with a topic's backlog (bounded), and implausible numbers."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from audit.core.models import derived_id
from audit.core.trail import gap_detected
from audit.gaps import service as gaps
from audit.gaps.models import ResendRequest
from common.db import utcnow
from common.events import TOPIC_BY_SOURCE, AccessEvent, EventDraft


@dataclass
class GapDetector:
    """What the consumer knows of each source beyond the store: its heartbeats, its resends.

    grace: how long a hole may stay open before it is alerted and a resend is asked;
    max_wait: how long a topic's backlog may postpone that (a hole behind a backlog is most
    likely a slower partition, but a backlog that never ends must not block repair);
    margin: how far past the last announced number an event is still plausible."""

    grace: float
    resend_interval: float
    max_wait: float
    margin: int
    tails: dict[str, tuple[int, float]] = field(default_factory=dict)
    announced: dict[str, int] = field(default_factory=dict)
    resent: dict[str, float] = field(default_factory=dict)
    # Gaps whose gap_detected event this process has committed: until the projector links
    # their alert they are still "unalerted", and drafting them again every second (only to
    # drop them on event_id) was the consumers' main work with thousands of gaps open.
    drafted: set[uuid.UUID] = field(default_factory=set)

    def note_drafted(self, drafts: list[EventDraft]) -> None:
        """Remember the gaps of committed gap_detected events."""
        if len(self.drafted) > 100_000:
            self.drafted.clear()
        for draft in drafts:
            gap_id = (draft.details or {}).get("gap_id")
            if gap_id is not None:
                self.drafted.add(uuid.UUID(str(gap_id)))

    def note_heartbeat(self, raw: bytes | None) -> None:
        """Remember how far a source says it published (a malformed beat is ignored)."""
        try:
            beat = json.loads(raw or b"")
            source, last_seq = str(beat["source"]), int(beat["last_seq"])
        except (ValueError, KeyError, TypeError):
            return
        if source not in TOPIC_BY_SOURCE or last_seq < 1:
            return
        self.announced[source] = max(self.announced.get(source, 0), last_seq)
        known = self.tails.get(source)
        if known is None or last_seq > known[0]:
            self.tails[source] = (last_seq, known[1] if known else time.monotonic())

    def implausible(self, event: AccessEvent) -> str | None:
        """Why a number cannot be true: far beyond anything its source has announced.

        Kept out of the store, such an event cannot stretch the source's sequence and hide
        the real tail from repair. Before the first heartbeat nothing is judged."""
        announced = self.announced.get(event.source)
        if announced is None or event.source_seq <= announced + self.margin:
            return None
        return (
            f"implausible source_seq {event.source_seq}: {event.source} announced "
            f"{announced} at most"
        )

    def _patient(self, lagging: bool, since: float) -> bool:
        """Whether to wait still: inside the grace, or behind a backlog not yet too old."""
        waited = time.monotonic() - since
        return waited < self.grace or (lagging and waited < self.max_wait)

    async def drafts(self, session: AsyncSession, lagging: set[str]) -> list[EventDraft]:
        """gap_detected events for holes past their grace, in the middle and at the tail."""
        return [*await self._middle(session, lagging), *await self._tails(session, lagging)]

    async def _middle(self, session: AsyncSession, lagging: set[str]) -> list[EventDraft]:
        now, wall = time.monotonic(), utcnow()
        out = []
        for gap in await gaps.open_gaps(session, set(TOPIC_BY_SOURCE), alerted=False):
            opened = now - (wall - gap.opened_at).total_seconds()
            if gap.id in self.drafted or self._patient(gap.source in lagging, opened):
                continue
            out.append(
                gap_detected(
                    gap.id, gap.source, gap.from_seq, gap.to_seq, at=wall, opened_at=gap.opened_at
                )
            )
        return out

    async def _tails(self, session: AsyncSession, lagging: set[str]) -> list[EventDraft]:
        """A heartbeat ahead of the store for longer than the grace: events were lost."""
        if not self.tails:
            return []
        have = await gaps.store_max(session)
        already = await gaps.open_tails(session, {s: t[0] for s, t in self.tails.items()})
        out = []
        for source, (last_seq, seen) in list(self.tails.items()):
            stored = have.get(source, 0)
            if stored >= last_seq or (source, last_seq) in already:
                del self.tails[source]
                continue
            if self._patient(source in lagging, seen):
                continue
            del self.tails[source]
            gap_id = derived_id("gap", source, stored + 1, last_seq)
            out.append(gap_detected(gap_id, source, stored + 1, last_seq, at=utcnow(), tail=True))
        return out

    async def due_resends(self, session: AsyncSession, lagging: set[str]) -> list[ResendRequest]:
        """Alerted gaps whose resend is due (again, every resend_interval while open)."""
        now, wall = time.monotonic(), utcnow()
        due = []
        for gap in await gaps.open_gaps(session, set(TOPIC_BY_SOURCE), alerted=True):
            age = (wall - gap.opened_at).total_seconds()
            if gap.source in lagging and age < self.max_wait:
                continue
            if now - self.resent.get(str(gap.id), -1e9) >= self.resend_interval:
                due.append(ResendRequest(gap.id, gap.source, gap.from_seq, gap.to_seq))
        return due

    async def reset_resends(self, session: AsyncSession, sources: set[str]) -> list[ResendRequest]:
        """What to ask at once when these sources' topic lost its log: everything after the
        store's last number (open-ended), and every open hole below it, without any grace.

        The old log may have held events the consumer never read; they come back only from
        the outboxes. What the new log also holds arrives twice and is dropped by event_id."""
        if not sources:
            return []
        have = await gaps.store_max(session)
        due = []
        for gap in await gaps.open_gaps(session, sources, alerted=False) + await gaps.open_gaps(
            session, sources, alerted=True
        ):
            due.append(ResendRequest(gap.id, gap.source, gap.from_seq, gap.to_seq))
        for source in sorted(sources):
            first = have.get(source, 0) + 1
            due.append(
                ResendRequest(derived_id("reset-resend", source, first), source, first, None)
            )
        return due

    def sent(self, request: ResendRequest) -> None:
        """A resend request went out."""
        self.resent[str(request.gap_id)] = time.monotonic()
