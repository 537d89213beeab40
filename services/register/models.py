"""Every table of the register service, imported so Alembic sees them."""

from common.outbox import Outbox, OutboxCursor
from register.activities.models import ProcessingActivity, ProcessingActivityVersion
from register.dpia.models import Dpia
from register.incidents.models import Incident
from register.subject_requests.models import SubjectRequest

__all__ = [
    "Dpia",
    "Incident",
    "Outbox",
    "OutboxCursor",
    "ProcessingActivity",
    "ProcessingActivityVersion",
    "SubjectRequest",
]
