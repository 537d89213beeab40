"""Bodies of the DPIA: the three CNIL risks, each with likelihood and severity."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from register.common_schemas import Items, Short, Text
from register.validation import PartialUpdate


class RiskKind(StrEnum):
    """The three feared events of the CNIL method."""

    ILLEGITIMATE_ACCESS = "illegitimate_access"
    UNWANTED_MODIFICATION = "unwanted_modification"
    DISAPPEARANCE = "disappearance"


class Level(StrEnum):
    """The CNIL's four-level scale, for likelihood and for severity."""

    NEGLIGIBLE = "negligible"
    LIMITED = "limited"
    SIGNIFICANT = "significant"
    MAXIMUM = "maximum"


LEVEL_RANK = {level: rank for rank, level in enumerate(Level, start=1)}


class DpiaStatus(StrEnum):
    """Validation state."""

    DRAFT = "draft"
    VALIDATED = "validated"
    REJECTED = "rejected"


class Risk(BaseModel):
    """One feared event, assessed."""

    model_config = ConfigDict(extra="forbid")

    kind: RiskKind
    likelihood: Level
    severity: Level
    sources: Items = []
    existing_measures: Items = []
    planned_measures: Items = []


class RiskRead(Risk):
    """A risk with its priority: high when both axes reach 'significant'."""

    priority: str


Risks = Annotated[list[Risk], Field(max_length=3)]


def _unique_kinds(risks: list[Risk] | None) -> list[Risk] | None:
    if risks is not None:
        kinds = [r.kind for r in risks]
        if len(kinds) != len(set(kinds)):
            raise ValueError("each risk kind may be assessed only once")
    return risks


class DpiaCreate(BaseModel):
    """A new DPIA, in draft."""

    model_config = ConfigDict(extra="forbid")

    activity_id: uuid.UUID
    title: Short
    context: Text | None = None
    risks: Risks = []
    dpo_opinion: Text | None = None

    _risks = field_validator("risks")(_unique_kinds)


class DpiaUpdate(PartialUpdate):
    """A change; `status` moves the validation state."""

    model_config = ConfigDict(extra="forbid")
    NULLABLE = frozenset({"context", "dpo_opinion"})

    version: int = Field(ge=1)
    title: Short | None = None
    context: Text | None = None
    risks: Risks | None = None
    dpo_opinion: Text | None = None
    status: DpiaStatus | None = None

    _risks = field_validator("risks")(_unique_kinds)


class DpiaRead(BaseModel):
    """A DPIA as served."""

    id: uuid.UUID
    activity_id: uuid.UUID
    title: str
    context: str | None
    risks: list[RiskRead]
    missing_risks: list[RiskKind]
    dpo_opinion: str | None
    status: DpiaStatus
    validated_at: datetime | None
    validated_by: str | None
    version: int
    created_at: datetime
    created_by: str | None
    updated_at: datetime
    updated_by: str | None
