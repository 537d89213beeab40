"""Bodies of contests."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints


def _storable(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text may not contain NUL characters")
    return value


# Empty (or only spaces) and 5,000 characters or more are refused with 422.
Reason = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=4999),
    AfterValidator(_storable),
]
ContestStatus = Literal["received", "in_progress", "answered", "refused"]


class ContestCreate(BaseModel):
    """Why the worker contests the access."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason


class ContestCreated(BaseModel):
    """What one contest set in motion, each linked to the contested event."""

    contest_id: uuid.UUID
    event_id: uuid.UUID
    subject_request_id: uuid.UUID
    incident_id: uuid.UUID
    alert_id: uuid.UUID
    assessment_due_at: datetime
    answer_due_on: date | None = None


class ContestRead(BaseModel):
    """A contest and where it stands: received, in_progress (being examined), answered."""

    contest_id: uuid.UUID
    event_id: uuid.UUID
    worker_id: str
    reason: str
    created_at: datetime
    event_occurred_at: datetime
    actor_name: str | None
    subject_request_id: uuid.UUID
    incident_id: uuid.UUID
    alert_id: uuid.UUID
    assessment_due_at: datetime
    answer_due_on: date | None
    status: ContestStatus
    answer: str | None = None


class ContestList(BaseModel):
    """The caller's contests, newest first; answers_unavailable when the register is down."""

    worker_id: str
    items: list[ContestRead]
    answers_unavailable: bool = False
