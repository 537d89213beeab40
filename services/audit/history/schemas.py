"""Access-history entries and pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from audit.log.schemas import ReceiptRead


class ResourceRead(BaseModel):
    """What was touched."""

    type: str | None
    id: str | None
    part: str | None


class AccessEntryRead(BaseModel):
    """One access to a worker's file."""

    occurred_at: datetime
    actor_name: str | None
    actor_profile: str | None
    action: str
    outcome: str
    resource: ResourceRead | None
    part: str | None
    purpose: str | None
    source: str
    event_id: str
    details: dict[str, Any] | None = None
    # The entry is about a part the worker may not see (a physician's personal notes): the
    # access is shown, its content never is. `part` says which part.
    withheld: bool = False
    receipt: ReceiptRead | None = Field(
        default=None, description="proof that this entry's event is in the signed log"
    )
    # The event is stored but not yet in a signed tree (the sequencer signs every second).
    pending: bool = False


class AccessHistoryPage(BaseModel):
    """A page of a worker's history, newest first; pass next_cursor to get the next one."""

    worker_id: str
    items: list[AccessEntryRead]
    next_cursor: str | None
