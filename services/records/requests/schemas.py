"""Payloads of the register's signed calls and of rectification tasks."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from records.validation import Input

Details = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


class RequestIntake(Input):
    """A data-subject request of the register about one file (signed by the register)."""

    subject_request_id: uuid.UUID
    worker_id: uuid.UUID


class RectificationIntake(RequestIntake):
    """What the worker asks to correct."""

    details: Details


class FileCopyRead(BaseModel):
    """The file as the worker may see it: the PDF (base64) and the signed export bundle."""

    subject_request_id: uuid.UUID
    worker_id: uuid.UUID
    pdf_base64: str
    bundle: dict[str, Any]
    produced_at: datetime


class RetentionCheckRead(BaseModel):
    """Whether the file may be erased now, and the legal reason when it may not."""

    worker_id: uuid.UUID
    earliest_deletion_on: str | None
    rule: str
    legal_holds: int
    erased: bool
    erasable: bool
    legal_reason: str


class RectificationTaskRead(BaseModel):
    """A correction owed to a data-subject request."""

    id: uuid.UUID
    subject_request_id: uuid.UUID
    worker_id: uuid.UUID
    details: str
    status: str
    done_at: datetime | None
    correction: dict[str, Any] | None
    created_at: datetime
    created_by: str | None


class CorrectionCreate(Input):
    """The correction: a new version of an exam or a fitness decision."""

    entity: Literal["exam", "fitness_decision"]
    entity_id: uuid.UUID
    changes: dict[str, Any] = Field(min_length=2)
