"""The pure core: chain building and verification, rules, sequence gaps (no stack needed)."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audit.core.chain import ChainVerifier, body_and_columns, body_of, columns_of, link
from audit.core.hashing import GENESIS, canonical_json
from audit.core.models import ActorWindow, ChainRow, RuleSettings
from audit.core.rules import alerts_for, gap_step, needs_window
from common.events import AccessEvent, format_time


def envelope(seq: int, **overrides) -> AccessEvent:
    """A records envelope."""
    fields = {
        "event_id": uuid.uuid4(),
        "occurred_at": datetime(2026, 1, 1, 12, 0, seq % 60, tzinfo=UTC),
        "source": "records",
        "source_seq": seq,
        "actor": {
            "user_id": "u1",
            "username": "doc",
            "display_name": "Doc",
            "profile": "physician",
        },
        "action": "read",
        "outcome": "success",
        "worker_id": "w1",
        "resource": {"type": "worker", "id": "w1", "part": "exam"},
        "details": {"care_relationship": True, "worker_employer": "Acme", "grant_id": None},
    }
    return AccessEvent.model_validate(fields | overrides)


def chain(n: int) -> list[ChainRow]:
    """n linked rows."""
    at = datetime(2026, 1, 1, tzinfo=UTC)
    events = [envelope(i + 1) for i in range(n)]
    rows = []
    for event, (pos, prev, digest, body) in zip(events, link(GENESIS, 0, at, events), strict=True):
        columns = columns_of(event)
        rows.append(ChainRow(pos, prev, digest, at, body, columns))
    return rows


class TestCanonicalForm:
    def test_key_order_and_spacing_do_not_matter(self):
        assert (
            canonical_json({"b": 1, "a": [1, {"d": 2, "c": 3}]}) == '{"a":[1,{"c":3,"d":2}],"b":1}'
        )

    def test_body_round_trips(self):
        event = envelope(1)
        assert body_of(AccessEvent.model_validate_json(body_of(event))) == body_of(event)
        assert columns_of(event)["occurred_at"] == format_time(event.occurred_at)

    @given(
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
            lambda inner: (
                st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4)
            ),
            max_leaves=20,
        )
    )
    def test_the_shared_encoder_writes_what_json_dumps_wrote(self, value):
        expected = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert canonical_json(value) == expected


TEXT = st.text(min_size=1, max_size=12)
ENVELOPES = st.builds(
    lambda seq, at, actor, worker, outcome, details: envelope(
        seq, occurred_at=at, actor=actor, worker_id=worker, outcome=outcome, details=details
    ),
    st.integers(min_value=1, max_value=2**40),
    st.datetimes(timezones=st.just(UTC)) | st.datetimes(),
    st.none()
    | st.fixed_dictionaries(
        {"user_id": TEXT, "username": TEXT, "display_name": TEXT, "profile": TEXT}
    ),
    st.none() | TEXT,
    st.sampled_from(["success", "denied"]),
    st.none() | st.dictionaries(TEXT, st.none() | st.booleans() | TEXT, max_size=3),
)


class TestBodyAndColumns:
    @given(ENVELOPES)
    def test_one_dump_gives_what_the_verifier_derives(self, event):
        """The append path's single dump and the verifier's separate derivations agree."""
        assert body_and_columns(event) == (body_of(event), columns_of(event))


class TestVerifier:
    def test_intact_chain(self):
        verifier = ChainVerifier()
        for row in chain(5):
            assert verifier.feed(row) is None
        assert verifier.broken is None and verifier.checked == 5

    @pytest.mark.parametrize(
        ("tamper", "reason"),
        [
            (lambda r: replace(r, body=r.body.replace('"read"', '"print"')), "content"),
            (lambda r: replace(r, columns=r.columns | {"worker_id": "w2"}), "column worker_id"),
            (lambda r: replace(r, prev_hash="f" * 64), "previous-hash"),
        ],
    )
    def test_changed_row(self, tamper, reason):
        rows = chain(5)
        rows[2] = tamper(rows[2])
        verifier = ChainVerifier()
        for row in rows:
            verifier.feed(row)
        assert verifier.broken is not None and verifier.broken.position == 3
        assert reason in verifier.broken.reason

    def test_deleted_row(self):
        rows = chain(5)
        del rows[1]
        verifier = ChainVerifier()
        for row in rows:
            verifier.feed(row)
        assert verifier.broken is not None and verifier.broken.position == 2
        assert "missing" in verifier.broken.reason


class TestRules:
    rules = RuleSettings()

    def test_quiet_access(self):
        assert alerts_for(envelope(1), ActorWindow(1), self.rules) == []

    def test_mass_access_threshold_is_strict(self):
        at_limit = ActorWindow(distinct_workers=20, outside_workers=20)
        over = ActorWindow(distinct_workers=21, outside_workers=21)
        assert alerts_for(envelope(1), at_limit, self.rules) == []
        assert [a.kind for a in alerts_for(envelope(1), over, self.rules)] == ["mass_access"]
        already = ActorWindow(distinct_workers=30, outside_workers=30, mass_alerted=True)
        assert alerts_for(envelope(1), already, self.rules) == []

    def test_the_care_team_has_its_own_threshold(self):
        assert alerts_for(envelope(1), ActorWindow(distinct_workers=200), self.rules) == []
        over = ActorWindow(distinct_workers=201)
        assert [a.kind for a in alerts_for(envelope(1), over, self.rules)] == ["mass_access"]

    def test_a_search_hit_is_no_opening(self):
        hit = envelope(
            1, action="search", resource={"type": "worker", "id": "w1", "part": "search"},
            details={"care_relationship": False, "worker_employer": "Occupational Health Service"},
        )  # fmt: skip
        over = ActorWindow(distinct_workers=500, outside_workers=500)
        assert alerts_for(hit, over, self.rules) == []
        assert not needs_window(hit)

    def test_seeded_events_raise_nothing(self):
        seeded = envelope(1, details={"care_relationship": False, "grant_id": "g", "seeding": True})
        assert alerts_for(seeded, ActorWindow(500, 500, 5), self.rules) == []
        assert not needs_window(seeded)

    def test_aggregation_keys(self):
        kinds = {a.kind: a.key for a in alerts_for(
            envelope(1, details={"care_relationship": False, "grant_id": "g"}),
            ActorWindow(distinct_workers=201), self.rules,
        )}  # fmt: skip
        assert kinds == {"outside_care_team": "worker", "grant_use": "worker",
                         "mass_access": "actor"}  # fmt: skip

    def test_denials(self):
        denied = envelope(1, outcome="denied")
        assert alerts_for(denied, ActorWindow(denials=2), self.rules) == []
        kinds = [a.kind for a in alerts_for(denied, ActorWindow(denials=3), self.rules)]
        assert kinds == ["repeated_denials"]

    def test_worker_reading_own_file_is_not_an_alert(self):
        own = envelope(
            1,
            actor={"user_id": "u", "username": "w", "display_name": "W", "profile": "worker"},
            details={"care_relationship": False, "worker_employer": "Occupational Health Service"},
        )
        assert alerts_for(own, ActorWindow(), self.rules) == []


class TestGapStep:
    @pytest.mark.parametrize(
        ("current", "seq", "opened", "fills", "new_max"),
        [(0, 1, None, False, 1), (3, 4, None, False, 4), (3, 7, (4, 6), False, 7),
         (7, 5, None, True, 7), (7, 7, None, True, 7)],
    )  # fmt: skip
    def test_steps(self, current, seq, opened, fills, new_max):
        change = gap_step(current, seq)
        assert (change.opened, change.fills, change.new_max) == (opened, fills, new_max)
