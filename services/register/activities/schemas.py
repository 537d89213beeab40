"""Bodies of the Art. 30 register of processing activities."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from register.common_schemas import Condition, Items, NonEmptyItems, Short
from register.validation import PartialUpdate


class LegalBasis(StrEnum):
    """Art. 6(1) lawful bases."""

    CONSENT = "consent"
    CONTRACT = "contract"
    LEGAL_OBLIGATION = "legal_obligation"
    VITAL_INTERESTS = "vital_interests"
    PUBLIC_TASK = "public_task"
    LEGITIMATE_INTERESTS = "legitimate_interests"


class Party(BaseModel):
    """A controller, representative or DPO: a name and a way to reach them."""

    model_config = ConfigDict(extra="forbid")

    name: Short
    contact: Short


class DataCategory(BaseModel):
    """A category of personal data; special categories (Art. 9, e.g. health) are flagged."""

    model_config = ConfigDict(extra="forbid")

    name: Short
    special_category: bool = False


class Transfer(BaseModel):
    """A transfer outside the EU and the safeguard that covers it (Art. 46)."""

    model_config = ConfigDict(extra="forbid")

    country: Short
    recipient: Short
    safeguard: Short


class Retention(BaseModel):
    """How long a category of data is kept."""

    model_config = ConfigDict(extra="forbid")

    data: Short
    period: Short


class ActivityFields(BaseModel):
    """What Art. 30(1) asks of each processing activity."""

    model_config = ConfigDict(extra="forbid")

    name: Short
    controller: Party
    dpo: Party
    purposes: NonEmptyItems
    legal_basis: LegalBasis
    special_category_condition: Condition | None = None
    data_subject_categories: NonEmptyItems
    data_categories: Annotated[list[DataCategory], Field(min_length=1, max_length=50)]
    recipients: Items = []
    transfers: Annotated[list[Transfer], Field(max_length=20)] = []
    retention: Annotated[list[Retention], Field(min_length=1, max_length=20)]
    security_measures: NonEmptyItems
    review_on: date
    active: bool = True

    @model_validator(mode="after")
    def _special_needs_condition(self) -> ActivityFields:
        if (
            any(c.special_category for c in self.data_categories)
            and not self.special_category_condition
        ):
            raise ValueError(
                "special_category_condition is required when a data category is a special "
                "category (GDPR Art. 9(2), e.g. 'Art. 9(2)(h) occupational medicine')"
            )
        return self


class ProcessingActivityCreate(ActivityFields):
    """A new entry of the register."""


class ProcessingActivityUpdate(PartialUpdate):
    """A change to an entry; `version` is the version the change was made from."""

    model_config = ConfigDict(extra="forbid")
    NULLABLE = frozenset({"special_category_condition"})

    version: int = Field(ge=1)
    name: Short | None = None
    controller: Party | None = None
    dpo: Party | None = None
    purposes: NonEmptyItems | None = None
    legal_basis: LegalBasis | None = None
    special_category_condition: Condition | None = None
    data_subject_categories: NonEmptyItems | None = None
    data_categories: Annotated[list[DataCategory], Field(min_length=1, max_length=50)] | None = None
    recipients: Items | None = None
    transfers: Annotated[list[Transfer], Field(max_length=20)] | None = None
    retention: Annotated[list[Retention], Field(min_length=1, max_length=20)] | None = None
    security_measures: NonEmptyItems | None = None
    review_on: date | None = None
    active: bool | None = None


class ProcessingActivityRead(ActivityFields):
    """An entry as served."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    version: int
    special_category_data: bool
    review_overdue: bool
    created_at: datetime
    created_by: str | None
    updated_at: datetime
    updated_by: str | None


class ProcessingActivityVersionRead(BaseModel):
    """One version of an entry: the full content then, and what changed."""

    version: int
    changed_at: datetime
    changed_by: str | None
    changed_by_name: str | None
    changed_fields: list[str]
    snapshot: dict[str, Any]
