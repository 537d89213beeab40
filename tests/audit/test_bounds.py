"""OpeningBounds never says less than the mass-access count it stands in for (pure, no stack)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from audit.core.bounds import OpeningBounds
from audit.core.models import StoredEvent
from common.events import AccessEvent

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=10)
ACTORS = ["a1", "a2"]


def stored(position: int, actor: str, worker: str, minute: float, care: bool, ok: bool):
    """A records read of one worker's file at START + minute."""
    event = AccessEvent.model_validate(
        {
            "event_id": uuid.uuid4(),
            "occurred_at": START + timedelta(minutes=minute),
            "source": "records",
            "source_seq": position,
            "actor": {"user_id": actor, "username": actor, "display_name": actor,
                      "profile": "physician"},
            "action": "read",
            "outcome": "success" if ok else "denied",
            "worker_id": worker,
            "resource": {"type": "worker", "id": worker, "part": "record"},
            "details": {"care_relationship": care},
        }
    )  # fmt: skip
    return StoredEvent(position, START, event)


def counted(events: list[StoredEvent], item: StoredEvent) -> tuple[int, int]:
    """What OPENED_SQL counts at `item`: distinct files, and those opened outside care."""
    t, actor = item.event.occurred_at, item.event.actor.user_id
    outside: dict[str, bool] = {}
    for e in events:
        if (
            e.event.actor.user_id == actor
            and e.position <= item.position
            and t - WINDOW < e.event.occurred_at <= t
            and e.event.outcome == "success"
        ):
            care = e.event.details["care_relationship"]
            outside[e.event.worker_id] = outside.get(e.event.worker_id, False) or not care
    return len(outside), sum(outside.values())


EVENTS = st.lists(
    st.tuples(
        st.sampled_from(ACTORS),
        st.sampled_from([f"w{i}" for i in range(6)]),
        # Mostly forward in time, sometimes back (events of several sources arrive late).
        st.floats(min_value=-3, max_value=4, allow_nan=False),
        st.booleans(),
        st.sampled_from([True, True, True, False]),
    ),
    min_size=1,
    max_size=40,
)


class TestOpeningBounds:
    @settings(max_examples=300, deadline=None)
    @given(EVENTS, st.integers(min_value=0, max_value=40), st.data())
    def test_a_bound_is_never_below_the_count(self, steps, split, data):
        minute, events = 0.0, []
        for position, (actor, worker, step, care, ok) in enumerate(steps, start=1):
            minute += step
            events.append(stored(position, actor, worker, minute, care, ok))
        before, batch = events[:split], events[split:]
        if not batch:
            return
        late = {}
        for a in ACTORS:
            times = [e.event.occurred_at for e in batch if e.event.actor.user_id == a]
            if times:
                late[a] = sum(
                    1
                    for e in before
                    if e.event.actor.user_id == a and e.event.occurred_at > min(times)
                )
        bounds = OpeningBounds(batch, late)
        for item in batch:
            if item.event.outcome != "success":
                continue
            exact = counted(events, item)
            bound = bounds.bound(item)
            if bound is not None:
                assert bound[0] >= exact[0] and bound[1] >= exact[1], (bound, exact)
            if bound is None or data.draw(st.booleans()):
                bounds.note_exact(item, *exact)

    def test_steady_reads_are_bounded_from_one_count(self):
        batch = [stored(p, "a1", f"w{p}", p / 10, True, True) for p in range(1, 51)]
        bounds = OpeningBounds(batch, {"a1": 0})
        assert bounds.bound(batch[0]) is None
        bounds.note_exact(batch[0], 1, 0)
        assert bounds.bound(batch[49]) == (50, 0)

    def test_an_actor_without_a_late_count_is_not_bounded(self):
        batch = [stored(p, "a1", f"w{p}", p / 10, True, True) for p in range(1, 3)]
        bounds = OpeningBounds(batch, {})
        bounds.note_exact(batch[0], 1, 0)
        assert bounds.bound(batch[1]) is None

    def test_events_stored_earlier_that_occurred_later_are_added(self):
        batch = [
            stored(1, "a1", "w1", 3, True, True),
            stored(2, "a1", "w2", 1, True, True),
            stored(3, "a1", "w3", 2, True, True),
            stored(4, "a1", "w4", 4, True, True),
        ]
        bounds = OpeningBounds(batch, {"a1": 5})
        bounds.note_exact(batch[1], 1, 0)
        # 1 counted + 5 late before the batch + 1 late in it (w1) + w3, w4 after the count;
        # the late ones may each be outside care, w3 and w4 are not.
        assert bounds.bound(batch[3]) == (9, 6)

    def test_an_event_earlier_than_the_count_is_counted_again(self):
        batch = [stored(1, "a1", "w1", 5, True, True), stored(2, "a1", "w2", 4, True, True)]
        bounds = OpeningBounds(batch, {"a1": 0})
        bounds.note_exact(batch[0], 1, 0)
        assert bounds.bound(batch[1]) is None
