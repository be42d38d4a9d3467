"""The API window of one local day, derived from Dagster's own partition time window.

Dagster's window for a daily partition is `[start, end)` with `end` the next day's start, so consecutive
partitions tile absolute time. The API takes closed windows with whole seconds, so a day asks for
`[start, end - 1 s]`. Both ends are computed in absolute time and written with the offset in force at that
instant: wall-clock arithmetic (`23:59:59` of the day, or `end - 1 s` on an aware local datetime) lands on
the first of two repeated 23:59:59s when DST ends at midnight, and the repeated hour would belong to no day.

Ingestion, the demo and the emulator all take their days from here, so they cannot disagree about one.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from dagster import DailyPartitionsDefinition

ONE_SECOND = timedelta(seconds=1)
# Only the calendar matters here, not which partitions exist: any day since the epoch can be asked for.
_CALENDAR_START = "1970-01-01"


@lru_cache(maxsize=64)
def local_days(timezone: str) -> DailyPartitionsDefinition:
    """Daily partitions of `timezone`, used as a calendar of its local days."""
    return DailyPartitionsDefinition(start_date=_CALENDAR_START, timezone=timezone)


def api_window(partitions: DailyPartitionsDefinition, partition_key: str) -> tuple[datetime, datetime]:
    """`[start, end - 1 s]` of the partition's time window, each end with the offset in force at that instant.

    The end is taken as the next day's start: the same instant on every day that happened, and the only
    tiling on a day that did not (Pacific/Apia skipped 2011-12-30; Dagster gives that key the next day's
    window), whose window then ends before it starts and holds no instant.
    """
    zone = ZoneInfo(partitions.timezone)
    next_key = (date.fromisoformat(partition_key) + timedelta(days=1)).isoformat()
    # In UTC: Python compares and subtracts two datetimes of one zone by their wall clocks.
    window = partitions.time_window_for_partition_key(partition_key)
    start = window.start.astimezone(UTC)
    end = min(window.end.astimezone(UTC), partitions.time_window_for_partition_key(next_key).start.astimezone(UTC))
    return start.astimezone(zone), (end - ONE_SECOND).astimezone(zone)


def day_window(day: date, timezone: str) -> tuple[datetime, datetime]:
    """The first and last whole second of local `day` in `timezone`, as the API window asks for them."""
    return api_window(local_days(timezone), day.isoformat())
