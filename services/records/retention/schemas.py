"""Retention payloads: files due, batches, approvals, legal holds, erasure proofs."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from records.validation import Input

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Reference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
HoldKind = Literal["litigation", "claim"]
Day = Annotated[date, Field(ge=date(1900, 1, 1), le=date(2200, 12, 31))]


class DueFileRead(BaseModel):
    """A file past its term (administrative dates only)."""

    worker_id: uuid.UUID
    employment_end: date
    years_after_employment: int
    term_ended_on: date
    legal_hold: bool


class DuePage(BaseModel):
    """The files past their term on a day."""

    as_of: date
    items: list[DueFileRead]


class ErasureBatchCreate(Input):
    """Propose the files due on a day (today when absent), or only those of them named."""

    as_of: Day | None = None
    worker_ids: list[uuid.UUID] | None = Field(default=None, min_length=1, max_length=10_000)


class ErasureBatchApproval(Input):
    """The medical director's approval, with a comment kept on every erasure event."""

    comment: Reason


class ErasureBatchRead(BaseModel):
    """A batch, proposed or approved, with what its approval erased and skipped."""

    id: uuid.UUID
    as_of: date
    status: str
    worker_ids: list[str]
    proposed_at: datetime
    proposed_by: str
    approved_at: datetime | None
    approved_by: str | None
    approved_by_name: str | None
    approval_comment: str | None
    outcome: dict[str, Any]


class LegalHoldCreate(Input):
    """A hold: litigation or an ongoing claim, with its reference."""

    kind: HoldKind
    reference: Reference
    reason: Reason


class LegalHoldLift(Input):
    """Why the hold ends."""

    reason: Reason


class LegalHoldRead(BaseModel):
    """A hold on a file."""

    id: uuid.UUID
    worker_id: uuid.UUID
    kind: str
    reference: str
    reason: str
    placed_at: datetime
    placed_by: str
    lifted_at: datetime | None
    lifted_by: str | None
    lift_reason: str | None


class ErasureRead(BaseModel):
    """The proof that a file existed, when it ended and who allowed its erasure."""

    worker_id: uuid.UUID
    batch_id: uuid.UUID
    erased_at: datetime
    employment_end: date
    term_ended_on: date
    years_after_employment: int
    approved_by: str
    copies: list[dict[str, Any]]
