"""When a guardian link holds: only while the ward is a minor.

The rule: a person comes of age at the start of their eighteenth birthday, in the service's
local time (Europe/Brussels). Someone born on 29 February has that birthday on 1 March in a
year without 29 February (born 2008-02-29: adult on 2026-03-01, not on 28 February): the
chosen rule lets a period of years that ends on a missing day end the day after. The link
ends that day, and a link whose ward's birth date is unknown is not honoured.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from zoneinfo import ZoneInfo

MAJORITY_YEARS = 18
LOCAL = ZoneInfo("Europe/Brussels")


def of_age_on(birth_date: date, years: int = MAJORITY_YEARS) -> date:
    """The first day on which someone born on birth_date is `years` old."""
    try:
        return birth_date.replace(year=birth_date.year + years)
    except ValueError:
        return date(birth_date.year + years, 3, 1)


def local_today(now: datetime | None = None) -> date:
    """Today in the service's local time, when birthdays begin."""
    return (now or datetime.now(LOCAL)).astimezone(LOCAL).date()


def link_ends_on(birth_dates: Mapping[str, str], ward: str) -> date | None:
    """The day a guardian's link to the ward ends, or None when its birth date is unknown."""
    born = birth_dates.get(ward)
    return of_age_on(date.fromisoformat(born)) if born else None


def live_wards(guardian_of: list[str], birth_dates: Mapping[str, str], today: date) -> list[str]:
    """The wards still minors today; a link without a known birth date is not honoured."""
    return [
        ward
        for ward in guardian_of
        if (ends := link_ends_on(birth_dates, ward)) is not None and today < ends
    ]
