"""The impact assessment (DPIA) of a processing activity."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Uuid
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field

from common.db import Stamped


class Dpia(Stamped, table=True):
    """Risks on the CNIL scale, measures, the DPO's opinion and a validation state."""

    __tablename__ = "dpia"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    activity_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("processing_activity.id"), nullable=False, index=True)
    )
    title: str = Field(max_length=200)
    context: str | None = Field(default=None, max_length=4000)
    risks: list[dict[str, Any]] = Field(sa_column=Column(JSONB, nullable=False))
    dpo_opinion: str | None = Field(default=None, max_length=4000)
    status: str = Field(default="draft", max_length=16)
    validated_at: datetime | None = None
    validated_by: str | None = Field(default=None, max_length=64)
    version: int = 1
