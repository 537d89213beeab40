"""Legal time limits of the register: GDPR month periods and the 72-hour breach window."""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta

# Art. 12(3): one month to answer, extendable by two further months.
RESPONSE_MONTHS = 1
EXTENSION_MONTHS = 2
# Art. 33(1): notify the authority within 72 hours of becoming aware of a breach.
BREACH_WINDOW = timedelta(hours=72)
# The day the GDPR became applicable; no request can have been received under it before.
GDPR_APPLICABLE_FROM = date(2018, 5, 25)


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the last day of that month when it has no such day."""
    index = day.year * 12 + (day.month - 1) + months
    year, month0 = divmod(index, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


def response_due(received_on: date) -> date:
    """When an answer to a data-subject request is due: one month after receipt."""
    return add_months(received_on, RESPONSE_MONTHS)


def extended_due(received_on: date) -> date:
    """The due date after the one extension: the month plus two further months from receipt.

    Counted from receipt (three months) rather than from the first due date, so that a
    request received on 31 January is due on 30 April, not on the 29th (Regulation 1182/71:
    a period in months ends on the same date, or on the last day of a shorter month).
    """
    return add_months(received_on, RESPONSE_MONTHS + EXTENSION_MONTHS)


def is_overdue(due_on: date, today: date) -> bool:
    """True when the due day has fully passed without an answer."""
    return today > due_on


def breach_deadline(aware_at: datetime) -> datetime:
    """The moment the authority must have been notified of a breach."""
    return aware_at + BREACH_WINDOW


def notification_late(aware_at: datetime, notified_at: datetime) -> bool:
    """True when a notification made at notified_at misses the 72-hour window."""
    return notified_at > breach_deadline(aware_at)


def hours_after(start: datetime, end: datetime) -> float:
    """Hours elapsed between two moments, to one decimal."""
    return round((end - start).total_seconds() / 3600, 1)
