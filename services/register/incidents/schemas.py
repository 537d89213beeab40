"""Bodies of the incident and breach register."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from register.common_schemas import Ident, Items, Moment, Short, Text, WorkerRef
from register.validation import PartialUpdate

AlertId = Ident
WorkerId = WorkerRef
Count = Annotated[int, Field(ge=0, le=1_000_000_000)]


class IncidentKind(StrEnum):
    """The incidents DOMAIN.md lists."""

    LOST_OR_STOLEN_DATA = "lost_or_stolen_data"
    LOST_OR_STOLEN_EQUIPMENT = "lost_or_stolen_equipment"
    PRINTOUT_LEFT = "printout_left_at_printer"
    DATA_DISAPPEARED = "data_disappeared"
    ILLICIT_COPY = "illicit_copy"
    MEDICAL_SECRECY_BREACH = "medical_secrecy_breach"
    DISCLOSURE = "disclosure"
    HACKING = "hacking"
    SABOTAGE = "sabotage"
    ILLICIT_ACCESS = "illicit_access"
    COLLEAGUE_CURIOSITY = "colleague_curiosity"
    MISDIRECTED_MEDICAL_DATA = "misdirected_medical_data"
    NETWORK_UNAVAILABILITY = "network_unavailability"
    OTHER = "other"


class BreachNature(StrEnum):
    """What the breach compromised."""

    CONFIDENTIALITY = "confidentiality"
    INTEGRITY = "integrity"
    AVAILABILITY = "availability"


class IncidentStatus(StrEnum):
    """Handling state."""

    OPEN = "open"
    INVESTIGATING = "investigating"
    CLOSED = "closed"


Natures = Annotated[list[BreachNature], Field(max_length=3)]


class BreachFacts(BaseModel):
    """The Art. 33(3) content of a breach notification (may be given in phases)."""

    model_config = ConfigDict(extra="forbid")

    breach_nature: Natures = []
    subject_categories: Items = []
    approx_subjects: Count | None = None
    data_categories: Items = []
    approx_records: Count | None = None
    likely_consequences: Text | None = None
    measures_taken: Text | None = None
    dpo_contact: Short | None = None


class IncidentCreate(BreachFacts):
    """A new incident; aware_at is when the service became aware (now when absent)."""

    kind: IncidentKind
    title: Short
    description: Text | None = None
    occurred_at: Moment | None = None
    aware_at: Moment | None = None
    worker_id: WorkerId | None = None
    alert_id: AlertId | None = None
    personal_data_breach: bool = False
    late_reason: Text | None = None


class IncidentUpdate(PartialUpdate):
    """A change from `version`."""

    model_config = ConfigDict(extra="forbid")
    NULLABLE = frozenset(
        {
            "description", "occurred_at", "worker_id", "approx_subjects", "approx_records",
            "likely_consequences", "measures_taken", "dpo_contact", "late_reason",
            "subjects_not_informed_reason",
        }
    )  # fmt: skip

    version: int = Field(ge=1)
    kind: IncidentKind | None = None
    title: Short | None = None
    description: Text | None = None
    status: IncidentStatus | None = None
    occurred_at: Moment | None = None
    worker_id: WorkerId | None = None
    personal_data_breach: bool | None = None
    breach_nature: Natures | None = None
    subject_categories: Items | None = None
    approx_subjects: Count | None = None
    data_categories: Items | None = None
    approx_records: Count | None = None
    likely_consequences: Text | None = None
    measures_taken: Text | None = None
    dpo_contact: Short | None = None
    late_reason: Text | None = None
    subjects_informed: bool | None = None
    subjects_informed_at: Moment | None = None
    subjects_not_informed_reason: Text | None = None


class NotificationCreate(BaseModel):
    """The notification to the authority; late_reason is required past 72 hours."""

    model_config = ConfigDict(extra="forbid")

    notified_at: Moment | None = None
    late_reason: Text | None = None
    authority_reference: Short | None = None


class IncidentRead(BaseModel):
    """An incident as served."""

    id: uuid.UUID
    kind: IncidentKind
    title: str
    description: str | None
    status: IncidentStatus
    occurred_at: datetime | None
    aware_at: datetime
    worker_id: str | None
    alert_id: str | None
    alert_url: str | None
    personal_data_breach: bool
    breach_nature: list[BreachNature]
    subject_categories: list[str]
    approx_subjects: int | None
    data_categories: list[str]
    approx_records: int | None
    likely_consequences: str | None
    measures_taken: str | None
    dpo_contact: str | None
    notification_deadline: datetime | None
    notification_overdue: bool
    notified_at: datetime | None
    notified_late: bool | None
    late_reason: str | None
    authority_reference: str | None
    subjects_informed: bool | None
    subjects_informed_at: datetime | None
    subjects_not_informed_reason: str | None
    closed_at: datetime | None
    version: int
    created_at: datetime
    created_by: str | None
    updated_at: datetime
    updated_by: str | None
