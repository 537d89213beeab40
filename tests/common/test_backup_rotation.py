"""Backup rotation: 7 daily, 4 weekly, 12 monthly (one year of archives)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from common.backup import MANIFEST, STAMP, BackupSettings, backups_in, rotate, to_keep

times = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
).map(lambda t: t.replace(microsecond=0))
histories = st.lists(times, max_size=120)
counts = st.integers(min_value=0, max_value=10)


def newest_per(stamps: list[datetime], period: object) -> list[datetime]:
    """The newest stamp of each period, newest period first."""
    best: dict[object, datetime] = {}
    for t in stamps:
        key = period(t)  # type: ignore[operator]
        best[key] = max(best.get(key, t), t)
    return sorted(best.values(), reverse=True)


PERIODS = {
    "daily": lambda t: t.date(),
    "weekly": lambda t: t.isocalendar()[:2],
    "monthly": lambda t: (t.year, t.month),
}


class TestRotationProperties:
    @given(histories, counts, counts, counts)
    def test_keeps_only_existing_backups_and_at_most_the_quota(self, stamps, d, w, m):
        kept = to_keep(stamps, d, w, m)
        assert kept <= set(stamps)
        assert len(kept) <= d + w + m

    @given(histories, counts, counts, counts)
    def test_newest_of_each_recent_period_is_kept(self, stamps, d, w, m):
        kept = to_keep(stamps, d, w, m)
        for name, quota in (("daily", d), ("weekly", w), ("monthly", m)):
            for t in newest_per(stamps, PERIODS[name])[:quota]:
                assert t in kept, f"{name}: newest of its period {t} dropped"

    @given(histories)
    def test_nothing_else_is_kept(self, stamps):
        kept = to_keep(stamps)
        chosen = set()
        for name, quota in (("daily", 7), ("weekly", 4), ("monthly", 12)):
            chosen |= set(newest_per(stamps, PERIODS[name])[:quota])
        assert kept == chosen

    @given(histories)
    def test_the_newest_backup_is_always_kept(self, stamps):
        if stamps:
            assert max(stamps) in to_keep(stamps)

    @given(histories)
    def test_rotating_again_deletes_nothing(self, stamps):
        kept = to_keep(stamps)
        assert to_keep(kept) == kept


class TestOneYearOfDailyBackups:
    def test_two_years_daily_keep_one_year(self):
        start = datetime(2025, 1, 1, 2, 30, tzinfo=UTC)
        stamps = [start + timedelta(days=i) for i in range(730)]
        kept = sorted(to_keep(stamps))
        newest = stamps[-1]
        assert len(kept) <= 23
        assert kept[-7:] == stamps[-7:], "the last seven days"
        assert newest - kept[0] < timedelta(days=366), "no more than one year of archives"
        assert newest - kept[0] > timedelta(days=330), "a year back, monthly"
        months = {(t.year, t.month) for t in kept}
        assert len(months) == 12


def make_backup(root: Path, when: datetime) -> Path:
    """A backup folder as `make backup` leaves it (dump and manifest)."""
    path = root / when.strftime(STAMP)
    path.mkdir(parents=True)
    (path / "records.dump.age").write_bytes(b"age-encryption.org/v1\n")
    (path / MANIFEST).write_text('{"databases": {}}\n')
    return path


class TestRotationOnRealDirectories:
    def test_rotate_deletes_what_the_policy_drops_and_nothing_else(self, tmp_path: Path):
        start = datetime(2026, 1, 1, 2, 30, tzinfo=UTC)
        for i in range(120):
            make_backup(tmp_path, start + timedelta(days=i))
        # Not backups: a folder of the operator's, an unfinished backup (no manifest yet).
        (tmp_path / "notes").mkdir()
        unfinished = tmp_path / (start - timedelta(days=30)).strftime(STAMP)
        unfinished.mkdir()
        before = backups_in(tmp_path)
        expected = to_keep(before)

        removed = rotate(tmp_path, BackupSettings(), say=lambda _: None)

        assert {p.name for p in removed} == {p.name for t, p in before.items() if t not in expected}
        assert set(backups_in(tmp_path)) == expected
        assert (tmp_path / "notes").is_dir() and unfinished.is_dir()
        assert rotate(tmp_path, BackupSettings(), say=lambda _: None) == []

    def test_quota_comes_from_the_settings(self, tmp_path: Path):
        start = datetime(2026, 3, 2, 2, 30, tzinfo=UTC)
        for i in range(10):
            make_backup(tmp_path, start + timedelta(days=i))
        rotate(tmp_path, BackupSettings(keep_daily=3, keep_weekly=0, keep_monthly=0),
               say=lambda _: None)  # fmt: skip
        assert len(backups_in(tmp_path)) == 3
