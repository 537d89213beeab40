"""What the integrity and checkpoint endpoints answer."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class BrokenLinkRead(BaseModel):
    """The first link of the chain that does not hold."""

    position: int
    reason: str
    expected: str | None = None
    found: str | None = None


class IntegrityRead(BaseModel):
    """The verification of the whole store."""

    ok: bool
    events_checked: int
    broken_links: int
    first_broken: BrokenLinkRead | None
    head_position: int
    head_hash: str
    checkpoints_checked: int
    checkpoint_problem: str | None
    log_tree_size: int = 0
    log_checkpoints_checked: int = 0
    log_problem: str | None = None
    checked_at: datetime
    duration_ms: float


class CheckpointRead(BaseModel):
    """A signed statement of the chain head."""

    position: int
    hash: str
    signed_at: datetime
    key_id: str
    signature: str


class PublicKeyRead(BaseModel):
    """A checkpoint verification key (Ed25519, PEM)."""

    key_id: str
    algorithm: str = "Ed25519"
    public_key_pem: str
    created_at: datetime | None
    message_format: str = (
        'canonical JSON {"hash","key_id","position","signed_at"}: sorted keys, no spaces'
    )
