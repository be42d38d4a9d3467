"""Day windows tile absolute time in every IANA zone: no instant falls between two days or in two of them.

The transition days are found by scanning each zone's UTC offset week by week from 1970 to 2037 and
bisecting every change to the second; each is checked with the days around it. Two transitions less than
a week apart that cancel out would not be seen by the scan; the whole-year checks cover the known ones.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, timedelta
from functools import cache

import pytest
from dagster import DailyPartitionsDefinition

from jelou_assets.day_windows import day_window

FIRST, LAST = datetime(1970, 1, 1, tzinfo=UTC), datetime(2038, 1, 1, tzinfo=UTC)
WEEK = timedelta(days=7)
SECOND = timedelta(seconds=1)


def offset_at(instant: datetime, zone: zoneinfo.ZoneInfo) -> timedelta:
    return instant.astimezone(zone).utcoffset()


def transitions(name: str) -> list[datetime]:
    """Instants at which the zone's UTC offset changes (the first second of the new offset)."""
    zone = zoneinfo.ZoneInfo(name)
    found = []
    before, offset = FIRST, offset_at(FIRST, zone)
    while before < LAST:
        after = before + WEEK
        if offset_at(after, zone) != offset:
            low, high = before, after  # offset(low) is the old one, offset(high) is not
            while high - low > SECOND:
                middle = low + (high - low) / 2
                middle = middle.replace(microsecond=0)
                low, high = (middle, high) if offset_at(middle, zone) == offset else (low, middle)
            found.append(high)
            offset = offset_at(high, zone)
        before = after
    return found


@cache
def zones_with_transitions() -> dict[str, list[datetime]]:
    zones = {name: transitions(name) for name in sorted(zoneinfo.available_timezones())}
    return {name: found for name, found in zones.items() if found}


def local_date(instant: datetime, name: str) -> date:
    return instant.astimezone(zoneinfo.ZoneInfo(name)).date()


def utc(instant: datetime) -> datetime:
    """For arithmetic and comparisons: Python adds to, subtracts and compares one zone's datetimes by wall clock."""
    return instant.astimezone(UTC)


def assert_days_tile(name: str, days: list[date]) -> None:
    """Consecutive windows meet to the second; each holds exactly the instants of its own local day."""
    windows = [day_window(day, name) for day in days]
    for (start, end), (next_start, _) in zip(windows, windows[1:]):
        assert utc(end) + SECOND == utc(next_start), (name, start, end, next_start)
    for day, (start, end) in zip(days, windows):
        if utc(end) < utc(start):  # a local day that never happened (the zone skipped it): no instant at all
            assert all(local_date(utc(start) + timedelta(hours=h), name) != day for h in range(-48, 48)), (name, day)
            continue
        assert local_date(start, name) == day and local_date(end, name) == day, (name, day, start, end)
        assert local_date(utc(start) - SECOND, name) < day < local_date(utc(end) + SECOND, name), (name, day)
        # Written with the offset in force at that instant, so the text names the instant itself.
        for instant in (start, end):
            assert instant.utcoffset() == offset_at(instant, zoneinfo.ZoneInfo(name))
            assert utc(datetime.fromisoformat(instant.isoformat())) == utc(instant)


def test_every_transition_day_of_every_zone_tiles_with_its_neighbours():
    zones = zones_with_transitions()
    assert len(zones) > 300  # the scan found the world's DST zones, not nothing
    checked = 0
    for name, found in zones.items():
        days = sorted({local_date(instant, name) + timedelta(days=k) for instant in found for k in (-1, 0, 1)})
        runs: list[list[date]] = []
        for day in days:
            if runs and day - runs[-1][-1] == timedelta(days=1):
                runs[-1].append(day)
            else:
                runs.append([day])
        for run in runs:
            # One more day on each side: the windows of a run must also meet the ordinary days around it.
            assert_days_tile(name, [run[0] - timedelta(days=1), *run, run[-1] + timedelta(days=1)])
        checked += len(days)
    assert checked > 50_000


@pytest.mark.parametrize(
    "zone, year",
    [
        ("America/Santiago", 2025),  # DST ends at midnight: the 5 April has 25 hours, 23:00-23:59 twice
        ("America/Sao_Paulo", 2018),  # DST starts at midnight: 4 November begins at 01:00
        ("Asia/Beirut", 2024),
        ("Australia/Lord_Howe", 2024),  # half-hour DST
        ("Pacific/Apia", 2011),  # skipped 30 December entirely
        ("America/Guayaquil", 2025),
        ("UTC", 2025),
    ],
)
def test_a_years_windows_are_exactly_that_years_local_days(zone: str, year: int):
    days = [date(year, 1, 1) + timedelta(days=n) for n in range((date(year + 1, 1, 1) - date(year, 1, 1)).days)]
    assert_days_tile(zone, days)
    first_start = day_window(days[0], zone)[0]
    last_end = day_window(days[-1], zone)[1]
    year_start = DailyPartitionsDefinition(start_date=f"{year}-01-01", timezone=zone).time_window_for_partition_key(
        f"{year}-01-01"
    ).start
    next_year_start = day_window(date(year + 1, 1, 1), zone)[0]
    assert utc(first_start) == utc(year_start) and local_date(utc(first_start) - SECOND, zone).year == year - 1
    assert utc(last_end) + SECOND == utc(next_year_start)
    windows = [day_window(day, zone) for day in days]
    covered = sum((max(utc(end) - utc(start) + SECOND, timedelta()) for start, end in windows), timedelta())
    assert covered == utc(next_year_start) - utc(first_start)


def test_the_repeated_hour_of_a_day_whose_dst_ends_at_midnight_is_in_that_day():
    start, end = day_window(date(2025, 4, 5), "America/Santiago")
    assert start.isoformat() == "2025-04-05T00:00:00-03:00"
    assert end.isoformat() == "2025-04-05T23:59:59-04:00"  # the second 23:59:59, an hour after the first
    assert utc(end) - utc(start) == timedelta(hours=25) - SECOND


def test_a_day_whose_midnight_never_happened_starts_at_its_first_instant():
    start, _ = day_window(date(2018, 11, 4), "America/Sao_Paulo")
    assert start.isoformat() == "2018-11-04T01:00:00-02:00"
