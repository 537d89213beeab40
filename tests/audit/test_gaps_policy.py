"""The gap policy's plausibility rule, with the production margin (the test stack widens it)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from audit.gaps.detector import GapDetector
from audit.settings import Settings
from common.events import AccessEvent


def event(seq: int, source: str = "records") -> AccessEvent:
    return AccessEvent(
        event_id=uuid.uuid4(),
        occurred_at=datetime.now(UTC),
        source=source,  # type: ignore[arg-type]
        source_seq=seq,
        actor=None,
        action="read",
        outcome="success",
        worker_id=None,
        resource=None,
    )


def detector() -> GapDetector:
    margin = Settings.model_fields["implausible_seq_margin"].default
    return GapDetector(grace=5, resend_interval=5, max_wait=15, margin=margin)


def beat(source: str, last_seq: int) -> bytes:
    return json.dumps({"source": source, "last_seq": last_seq, "at": "now"}).encode()


class TestImplausibleNumbers:
    def test_nothing_is_judged_before_the_first_heartbeat(self) -> None:
        assert detector().implausible(event(10**12)) is None

    def test_a_number_far_past_the_heartbeat_is_refused(self) -> None:
        gaps = detector()
        gaps.note_heartbeat(beat("records", 500))
        assert gaps.implausible(event(500 + gaps.margin)) is None
        reason = gaps.implausible(event(500 + gaps.margin + 1))
        assert reason is not None and "announced 500" in reason

    def test_each_source_is_judged_by_its_own_heartbeats(self) -> None:
        gaps = detector()
        gaps.note_heartbeat(beat("records", 10**9))
        assert gaps.implausible(event(10**9, source="register")) is None

    def test_a_malformed_heartbeat_changes_nothing(self) -> None:
        gaps = detector()
        gaps.note_heartbeat(b"not json")
        gaps.note_heartbeat(beat("nobody", 5))
        assert gaps.announced == {}
