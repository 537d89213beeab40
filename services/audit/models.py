"""Every table of the audit service, imported so Alembic sees them."""

from audit.contests.models import Contest
from audit.ingest.models import ConsumerPosition, LogReset, PendingEvent, Quarantine
from audit.log.models import LogCheckpoint, LogTile
from audit.projections.models import (
    AccessEntry,
    ActorActivity,
    Alert,
    Gap,
    ProjectionPosition,
    SourceStat,
)
from audit.store.models import Checkpoint, Event, SigningKey

__all__ = [
    "AccessEntry",
    "ActorActivity",
    "Alert",
    "Checkpoint",
    "ConsumerPosition",
    "Contest",
    "Event",
    "Gap",
    "LogCheckpoint",
    "LogReset",
    "LogTile",
    "PendingEvent",
    "ProjectionPosition",
    "Quarantine",
    "SigningKey",
    "SourceStat",
]
