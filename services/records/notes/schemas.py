"""Personal note payloads."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, StringConstraints

from records.validation import Input


class NoteCreate(Input):
    """A physician's personal note."""

    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]


class NoteRead(BaseModel):
    """A personal note with its author."""

    id: uuid.UUID
    worker_id: uuid.UUID
    author_id: str
    author_name: str
    text: str
    created_at: datetime
