"""Daily partitions by local calendar day, and the API window each partition asks for."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dagster import DailyPartitionsDefinition

from jelou_assets import settings

PARTITION_TIMEZONE = settings.timezone_setting("JELOU_TIMEZONE")
RESPONSE_TIMEZONE = settings.timezone_setting("JELOU_RESPONSE_TIMEZONE")

daily_partitions = DailyPartitionsDefinition(
    start_date=settings.partitions_start().isoformat(),
    timezone=PARTITION_TIMEZONE,
)


def day_window(day: date, timezone: str = PARTITION_TIMEZONE) -> tuple[datetime, datetime]:
    """`[day 00:00:00, day 23:59:59]` in `timezone`, each end with its own offset (DST days differ)."""
    zone = ZoneInfo(timezone)
    return datetime.combine(day, time(0, 0, 0), zone), datetime.combine(day, time(23, 59, 59), zone)


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
