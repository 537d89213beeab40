"""The audit service's own derived events (alerts, gaps, log resets) as typed drafts.

Pure functions: every id is derived from what caused the event, so a replay builds the very
same drafts; the time is given by the caller."""

from __future__ import annotations

import uuid
from datetime import datetime

from audit.core.models import derived_id
from common.events import AccessEvent, EventDraft, Resource, format_time


def alert_raised(
    alert_id: uuid.UUID,
    kind: str,
    severity: str,
    summary: str,
    cause: AccessEvent,
    *,
    at: datetime,
) -> EventDraft:
    """The trace of an alert the projector raised for the event `cause`."""
    return EventDraft(
        event_id=derived_id("alert-raised", alert_id),
        occurred_at=at,
        source="audit",
        actor=None,
        action="alert_raised",
        worker_id=cause.worker_id,
        resource=Resource(type="alert", id=str(alert_id), part=kind),
        trace_id=None,
        details={
            "alert_id": str(alert_id),
            "kind": kind,
            "severity": severity,
            "summary": summary,
            "cause_event_id": str(cause.event_id),
        },
    )


def gap_detected(
    gap_id: uuid.UUID,
    source: str,
    from_seq: int,
    to_seq: int,
    *,
    at: datetime,
    opened_at: datetime | None = None,
    tail: bool = False,
) -> EventDraft:
    """A hole in a source's numbers still open after the grace period (or seen at its tail)."""
    details: dict[str, object] = {
        "gap_id": str(gap_id),
        "source": source,
        "from_seq": from_seq,
        "to_seq": to_seq,
    }
    if opened_at is not None:
        details["opened_at"] = format_time(opened_at)
    if tail:
        details["tail"] = True
    return EventDraft(
        event_id=derived_id("gap-detected", gap_id),
        occurred_at=at,
        source="audit",
        actor=None,
        action="gap_detected",
        resource=Resource(type="source", id=source),
        trace_id=None,
        details=details,
    )


def log_reset(
    reset_id: uuid.UUID, partitions: list[dict[str, object]], *, at: datetime
) -> EventDraft:
    """The broker's logs of these partitions are not the ones the saved positions pointed into:
    each is read again from its earliest offset (topic, partition, saved_offset,
    earliest_offset, end_offset, reason per partition)."""
    topics = sorted({str(p["topic"]) for p in partitions})
    return EventDraft(
        event_id=derived_id("log-reset", reset_id),
        occurred_at=at,
        source="audit",
        actor=None,
        action="broker_log_reset",
        resource=Resource(type="broker", id=",".join(topics)),
        trace_id=None,
        details={"reset_id": str(reset_id), "partitions": partitions},
    )


def forged_detected(
    event_id: uuid.UUID, source: str | None, details: dict[str, object]
) -> EventDraft:
    """The trace of envelopes refused as forged: the fold turns it into a forged_event alert."""
    return EventDraft(
        event_id=event_id,
        source="audit",
        actor=None,
        action="forged_event_detected",
        outcome="denied",
        resource=Resource(type="source", id=source or "unknown"),
        trace_id=None,
        details=dict(details),
    )
