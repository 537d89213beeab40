"""The physician's personal notes, kept apart from the file."""

from __future__ import annotations

import uuid

from sqlalchemy import Column, Text
from sqlmodel import Field

from common.db import Stamped


class Note(Stamped, table=True):
    """A personal note: its author and the medical director only, never the worker."""

    __tablename__ = "note"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    worker_id: uuid.UUID = Field(foreign_key="worker.id", nullable=False, index=True)
    author_id: str = Field(max_length=64, nullable=False, index=True)
    author_name: str = Field(max_length=200, nullable=False)
    text: str = Field(sa_column=Column(Text, nullable=False))
