"""Movement, key and import payloads."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class MovementRead(BaseModel):
    """One print-out, export or import of a file."""

    id: uuid.UUID
    worker_id: uuid.UUID
    kind: str
    occurred_at: datetime
    actor_id: str
    actor_name: str
    actor_profile: str
    details: dict[str, Any]


class SigningKeyRead(BaseModel):
    """A public key receivers check export bundles with."""

    kid: str
    alg: str
    public_key: str
    created_at: datetime


class SigningKeys(BaseModel):
    """The service's bundle keys."""

    keys: list[SigningKeyRead]


class ImportRead(BaseModel):
    """What an import created."""

    worker_id: uuid.UUID
    bundle_id: str
    issuer_kid: str
    exams: int
    fitness_decisions: int
    lab_results: int
    exposures: int


PrintSection = Literal["administrative", "exposures", "exams", "fitness_decisions", "lab_results"]


class PrintCreate(BaseModel):
    """What a print-out holds: only the sections needed (all the caller may see when absent)."""

    model_config = ConfigDict(extra="forbid")

    sections: list[PrintSection] = Field(min_length=1, max_length=5)

    @field_validator("sections")
    @classmethod
    def _once(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("each section at most once")
        return value
