"""Every table of the records service, imported so Alembic sees them."""

from common.outbox import Outbox, OutboxCursor
from records.exams.models import Exam, FitnessDecision, LabResult
from records.history.models import Revision
from records.movements.models import Movement, SigningKey
from records.notes.models import Note
from records.rectification.models import RectificationTask
from records.retention.models import Erasure, ErasureBatch, LegalHold
from records.workers.models import CareMember, Exposure, Worker

__all__ = [
    "CareMember",
    "Erasure",
    "ErasureBatch",
    "Exam",
    "Exposure",
    "FitnessDecision",
    "LabResult",
    "LegalHold",
    "Movement",
    "Note",
    "Outbox",
    "OutboxCursor",
    "RectificationTask",
    "Revision",
    "SigningKey",
    "Worker",
]
