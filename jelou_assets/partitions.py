"""Daily partitions by local calendar day, and the API window each partition asks for."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from dagster import DailyPartitionsDefinition

from jelou_assets import day_windows, settings

PARTITION_TIMEZONE = settings.timezone_setting("JELOU_TIMEZONE")
RESPONSE_TIMEZONE = settings.timezone_setting("JELOU_RESPONSE_TIMEZONE")

daily_partitions = DailyPartitionsDefinition(
    start_date=settings.partitions_start().isoformat(),
    timezone=PARTITION_TIMEZONE,
)


def partition_window(partition_key: str) -> tuple[datetime, datetime]:
    """The API window of one partition, from the partition's own time window."""
    return day_windows.api_window(daily_partitions, partition_key)


def day_window(day: date, timezone: str = PARTITION_TIMEZONE) -> tuple[datetime, datetime]:
    """The API window of local `day` in `timezone` (the partitions' zone unless told otherwise)."""
    return day_windows.day_window(day, timezone)


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
