"""QuietActors never calls an actor quiet whose batch window holds more openings than the
mass-access thresholds (pure, no stack): its sets are supersets of what the SQL would count."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from audit.core.bounds import QuietActors
from audit.core.models import StoredEvent
from audit.core.rules import needs_window
from tests.audit.test_bounds import ACTORS, WINDOW, stored

OUTSIDE_MAX, OPENED_MAX = 2, 4


def sql_sets(
    events: list[StoredEvent], actor: str, since: datetime, upto: int
) -> tuple[set[str], set[str]]:
    """CROSSING_SQL without its caps: the actor's openings after `since` up to `upto`."""
    opened: set[str] = set()
    outside: set[str] = set()
    for e in events:
        if (
            e.event.actor.user_id == actor
            and e.position <= upto
            and e.event.occurred_at > since
            and e.event.outcome == "success"
        ):
            opened.add(e.event.worker_id)
            if not e.event.details["care_relationship"]:
                outside.add(e.event.worker_id)
    return opened, outside


EVENTS = st.lists(
    st.tuples(
        st.sampled_from(ACTORS),
        st.sampled_from([f"w{i}" for i in range(7)]),
        st.floats(min_value=-3, max_value=4),
        st.booleans(),
        st.booleans(),
        # The same account with a profile outside the staff: its openings are no window events
        # of the batch, but the SQL counts them.
        st.sampled_from(["physician", "physician", "worker"]),
    ),
    min_size=1,
    max_size=80,
)


class TestQuietMeansUnderTheThresholds:
    @given(
        events=EVENTS,
        cuts=st.lists(st.integers(1, 12), min_size=1, max_size=30),
        skipped=st.sets(st.integers(0, 30), max_size=3),
        repeated=st.sets(st.integers(0, 30), max_size=3),
    )
    @settings(max_examples=300, deadline=None)
    def test_a_quiet_actor_is_under_both_thresholds(
        self,
        events: list[tuple[str, str, float, bool, bool, str]],
        cuts: list[int],
        skipped: set[int],
        repeated: set[int],
    ) -> None:
        minute = 0.0
        store = []
        for position, (actor, worker, step, care, ok, profile) in enumerate(events, start=1):
            minute += step
            item = stored(position, actor, worker, minute, care, ok)
            assert item.event.actor is not None
            who = item.event.actor.model_copy(update={"profile": profile})
            store.append(
                StoredEvent(
                    position, item.recorded_at, item.event.model_copy(update={"actor": who})
                )
            )
        known = QuietActors()
        start, n = 0, 0
        while start < len(store):
            batch = store[start : start + cuts[n % len(cuts)]]
            n += 1
            start += len(batch)
            if n in skipped:
                continue  # another projector folded this batch
            if n in repeated:
                known.start_batch(batch)  # a batch that failed, folded again
            known.start_batch(batch)
            items = [i for i in batch if needs_window(i.event)]
            if not items:
                continue
            since = min(i.event.occurred_at for i in items) - WINDOW
            upto = max(i.position for i in items)
            seen = store[:start]
            for actor in {i.event.actor.user_id for i in items}:
                opened, outside = sql_sets(seen, actor, since, upto)
                if known.quiet(actor, since, OUTSIDE_MAX, OPENED_MAX):
                    # Every event's window lies inside (since, until]: these bound them all.
                    assert len(opened) <= OPENED_MAX
                    assert len(outside) <= OUTSIDE_MAX
                elif len(opened) <= OPENED_MAX and len(outside) <= OUTSIDE_MAX:
                    known.remember(actor, since, opened, outside)

    def test_a_reader_of_the_same_files_stays_quiet_without_a_query(self) -> None:
        known = QuietActors()
        first = [stored(p, "a1", f"w{p % 3}", p / 10, True, True) for p in range(1, 11)]
        known.start_batch(first)
        since = first[0].event.occurred_at - WINDOW
        known.remember("a1", since, {"w0", "w1", "w2"}, set())
        later = [stored(p, "a1", f"w{p % 3}", p / 10, True, True) for p in range(11, 40)]
        known.start_batch(later)
        assert known.quiet("a1", since + timedelta(minutes=1), OUTSIDE_MAX, OPENED_MAX)
        # An earlier window than the entry's: not known.
        assert not known.quiet("a1", since - timedelta(seconds=1), OUTSIDE_MAX, OPENED_MAX)

    def test_a_gap_between_batches_forgets_everything(self) -> None:
        known = QuietActors()
        first = [stored(p, "a1", "w0", p / 10, True, True) for p in range(1, 5)]
        known.start_batch(first)
        since = first[0].event.occurred_at - WINDOW
        known.remember("a1", since, {"w0"}, set())
        known.start_batch([stored(p, "a1", "w0", p / 10, True, True) for p in range(6, 9)])
        assert not known.quiet("a1", since, OUTSIDE_MAX, OPENED_MAX)

    def test_new_files_past_a_threshold_end_the_quiet(self) -> None:
        known = QuietActors()
        first = [stored(1, "a1", "w0", 0, False, True)]
        known.start_batch(first)
        since = first[0].event.occurred_at - WINDOW
        known.remember("a1", since, {"w0"}, {"w0"})
        known.start_batch([stored(p, "a1", f"w{p}", p / 10, False, True) for p in range(2, 5)])
        assert not known.quiet("a1", since, OUTSIDE_MAX, OPENED_MAX)
