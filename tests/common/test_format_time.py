"""format_time() writes the text strftime() wrote, which stored envelopes and hashes hold."""

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from common.events import format_time

OFFSETS = st.none() | st.builds(
    timezone, st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23))
)


def reference(value: datetime) -> str:
    """The form every stored envelope was written in."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class TestFormatTime:
    @given(
        st.datetimes(
            min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=OFFSETS
        )
    )
    def test_it_writes_what_strftime_wrote(self, value: datetime) -> None:
        assert format_time(value) == reference(value)

    def test_whole_seconds_keep_their_microseconds_and_offsets_become_z(self) -> None:
        paris = timezone(timedelta(hours=1))
        assert (
            format_time(datetime(2026, 12, 7, 21, 0, tzinfo=paris)) == "2026-12-07T20:00:00.000000Z"
        )
        assert format_time(datetime(2026, 12, 7, 20, 0, 0, 5)) == "2026-12-07T20:00:00.000005Z"
