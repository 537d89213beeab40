"""Every table of the records service, imported so Alembic sees them."""

from common.outbox import Outbox, OutboxCursor
from records.exams.models import Exam, FitnessDecision, LabResult
from records.history.models import Revision
from records.movements.models import Movement, SigningKey
from records.notes.models import Note
from records.workers.models import CareMember, Exposure, Worker

__all__ = [
    "CareMember",
    "Exam",
    "Exposure",
    "FitnessDecision",
    "LabResult",
    "Movement",
    "Note",
    "Outbox",
    "OutboxCursor",
    "Revision",
    "SigningKey",
    "Worker",
]
