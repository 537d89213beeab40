"""The pure time limits: month periods across month ends and leap years, the 72-hour window."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from register import deadlines

DAYS = st.dates(min_value=date(2018, 5, 25), max_value=date(2200, 12, 31))


class TestResponseDue:
    @pytest.mark.parametrize(
        ("received", "due"),
        [
            (date(2025, 3, 5), date(2025, 4, 5)),
            (date(2025, 1, 31), date(2025, 2, 28)),
            (date(2024, 1, 31), date(2024, 2, 29)),
            (date(2024, 1, 29), date(2024, 2, 29)),
            (date(2025, 1, 29), date(2025, 2, 28)),
            (date(2025, 3, 31), date(2025, 4, 30)),
            (date(2025, 8, 31), date(2025, 9, 30)),
            (date(2025, 12, 31), date(2026, 1, 31)),
            (date(2025, 12, 15), date(2026, 1, 15)),
            (date(2024, 2, 29), date(2024, 3, 29)),
            (date(2100, 1, 31), date(2100, 2, 28)),
            (date(2000, 1, 31), date(2000, 2, 29)),
        ],
    )
    def test_one_month_later_or_last_day(self, received: date, due: date):
        assert deadlines.response_due(received) == due

    @given(DAYS)
    def test_same_day_next_month_when_it_exists(self, received: date):
        due = deadlines.response_due(received)
        assert (due.year * 12 + due.month) - (received.year * 12 + received.month) == 1
        last = calendar.monthrange(due.year, due.month)[1]
        assert due.day == min(received.day, last)
        assert due.day == received.day or due.day == last

    @given(DAYS, DAYS)
    def test_monotonic(self, a: date, b: date):
        if a <= b:
            assert deadlines.response_due(a) <= deadlines.response_due(b)

    @given(DAYS)
    def test_between_28_and_31_days(self, received: date):
        assert 28 <= (deadlines.response_due(received) - received).days <= 31


class TestExtension:
    @pytest.mark.parametrize(
        ("received", "due"),
        [
            (date(2025, 1, 31), date(2025, 4, 30)),
            (date(2023, 11, 30), date(2024, 2, 29)),
            (date(2024, 11, 30), date(2025, 2, 28)),
            (date(2025, 10, 31), date(2026, 1, 31)),
            (date(2025, 5, 10), date(2025, 8, 10)),
        ],
    )
    def test_three_months_from_receipt(self, received: date, due: date):
        assert deadlines.extended_due(received) == due

    @given(DAYS)
    def test_extension_adds_about_two_months(self, received: date):
        first, extended = deadlines.response_due(received), deadlines.extended_due(received)
        assert 59 <= (extended - first).days <= 62
        assert extended >= deadlines.add_months(first, 2)


class TestAddMonths:
    @given(DAYS, st.integers(min_value=-200, max_value=200))
    def test_never_invalid_and_clamped(self, day: date, months: int):
        moved = deadlines.add_months(day, months)
        assert (moved.year * 12 + moved.month) - (day.year * 12 + day.month) == months
        assert moved.day <= day.day

    @given(DAYS)
    def test_twelve_months_is_a_year_except_29_february(self, day: date):
        moved = deadlines.add_months(day, 12)
        if (day.month, day.day) == (2, 29):
            assert moved == date(day.year + 1, 2, 28)
        else:
            assert moved == day.replace(year=day.year + 1)


class TestOverdue:
    def test_due_day_itself_is_not_overdue(self):
        assert not deadlines.is_overdue(date(2025, 2, 28), date(2025, 2, 28))
        assert deadlines.is_overdue(date(2025, 2, 28), date(2025, 3, 1))


class TestBreachWindow:
    AWARE = datetime(2024, 2, 28, 18, 30, tzinfo=UTC)

    def test_deadline_is_72_hours_later_across_leap_day(self):
        assert deadlines.breach_deadline(self.AWARE) == datetime(2024, 3, 2, 18, 30, tzinfo=UTC)

    def test_on_the_deadline_is_in_time(self):
        assert not deadlines.notification_late(self.AWARE, self.AWARE + timedelta(hours=72))

    def test_one_second_after_is_late(self):
        late = self.AWARE + timedelta(hours=72, seconds=1)
        assert deadlines.notification_late(self.AWARE, late)

    @given(st.integers(min_value=0, max_value=10 * 24 * 3600))
    def test_late_iff_beyond_72_hours(self, seconds: int):
        notified = self.AWARE + timedelta(seconds=seconds)
        assert deadlines.notification_late(self.AWARE, notified) == (seconds > 72 * 3600)

    def test_hours_after(self):
        assert deadlines.hours_after(self.AWARE, self.AWARE + timedelta(hours=73)) == 73.0
