"""Bodies of data-subject requests."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from register.common_schemas import Text, WorkerRef
from register.validation import PartialUpdate

WorkerId = WorkerRef


class RequestKind(StrEnum):
    """The rights a data subject may exercise."""

    ACCESS = "access"
    RECTIFICATION = "rectification"
    ERASURE = "erasure"
    RESTRICTION = "restriction"
    PORTABILITY = "portability"
    OBJECTION = "objection"


class RequestStatus(StrEnum):
    """received → in_progress → answered | refused."""

    RECEIVED = "received"
    IN_PROGRESS = "in_progress"
    ANSWERED = "answered"
    REFUSED = "refused"


OPEN_STATUSES = (RequestStatus.RECEIVED, RequestStatus.IN_PROGRESS)


class SubjectRequestCreate(BaseModel):
    """A request; a worker files for their own file, the DPO names the worker."""

    model_config = ConfigDict(extra="forbid")

    kind: RequestKind
    received_on: date | None = None
    details: Text | None = None
    worker_id: WorkerId | None = None


class SubjectRequestUpdate(PartialUpdate):
    """Move the request on, answer or refuse it; an access answer may attach the history."""

    model_config = ConfigDict(extra="forbid")
    NULLABLE = frozenset({"details"})

    status: RequestStatus | None = None
    details: Text | None = None
    answer: Text | None = None
    refusal_reason: Text | None = None
    attach_access_history: bool = False


class ExtensionCreate(BaseModel):
    """The one extension by two months, and why."""

    model_config = ConfigDict(extra="forbid")

    reason: Text


class SubjectRequestRead(BaseModel):
    """A request as served."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    worker_id: str
    kind: RequestKind
    received_on: date
    details: str | None
    status: RequestStatus
    due_on: date
    initial_due_on: date
    extended: bool
    extended_at: datetime | None
    extension_reason: str | None
    overdue: bool
    answer: str | None
    refusal_reason: str | None
    closed_at: datetime | None
    access_history_attached: bool
    file_copy_attached: bool = False
    resolution: dict[str, Any] | None = None
    filed_by_profile: str
    created_at: datetime
    created_by: str | None
    updated_at: datetime
    updated_by: str | None


class AccessHistoryRead(BaseModel):
    """The worker's access history as attached to an access request's answer."""

    fetched_at: datetime
    source: str
    complete: bool
    entries: list[dict[str, Any]]


class RectificationDone(BaseModel):
    """Records' word that the correction was made (signed by records)."""

    model_config = ConfigDict(extra="forbid")

    subject_request_id: uuid.UUID
    worker_id: WorkerRef
    task_id: uuid.UUID
    correction: dict[str, Any]
