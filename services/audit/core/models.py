"""Frozen models of the pure core."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from common.events import AccessEvent

# Stable ids for derived facts, so a replay produces the very same rows.
AUDIT_NAMESPACE = uuid.UUID("6f1f3d0a-4a8c-4b0e-9a57-0c8f5d2b7e11")


def derived_id(*parts: object) -> uuid.UUID:
    """A deterministic UUID for a derived fact (alert, gap, audit event)."""
    return uuid.uuid5(AUDIT_NAMESPACE, ":".join(str(p) for p in parts))


@dataclass(frozen=True)
class StoredEvent:
    """An event as it sits in the store: its place in the chain and its envelope."""

    position: int
    recorded_at: datetime
    event: AccessEvent


@dataclass(frozen=True)
class ChainRow:
    """What integrity verification reads of one stored row."""

    position: int
    prev_hash: str
    hash: str
    recorded_at: datetime
    body: str
    columns: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Break:
    """The first broken link of the chain."""

    position: int
    reason: str
    expected: str | None = None
    found: str | None = None


@dataclass(frozen=True)
class RuleSettings:
    """Thresholds of the alert rules."""

    own_employer: str = "Occupational Health Service"
    # mass_access: more than this many distinct files opened (read, print, export) without a
    # care relationship in the window, or more than the care-team figure in all.
    mass_access_workers: int = 20
    mass_access_care_team_workers: int = 200
    mass_access_minutes: int = 10
    denial_count: int = 3
    denial_minutes: int = 10


@dataclass(frozen=True)
class ActorWindow:
    """What an actor did just before an event (earlier positions only)."""

    distinct_workers: int = 0
    outside_workers: int = 0
    denials: int = 0
    mass_alerted: bool = False
    denials_alerted: bool = False


@dataclass(frozen=True)
class AlertDraft:
    """An alert a rule raises for one event."""

    kind: str
    severity: str
    summary: str
    # Aggregation key: None raises one alert per cause; "worker" merges into the open alert of
    # the same rule, actor and worker; "actor" into that of the same rule and actor.
    key: str | None = None


@dataclass(frozen=True)
class GapChange:
    """How one event moves a source's sequence: a new gap, a possible fill, or nothing."""

    new_max: int
    opened: tuple[int, int] | None = None
    fills: bool = False
