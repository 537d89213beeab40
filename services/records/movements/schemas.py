"""Movement, key and import payloads."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel


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
