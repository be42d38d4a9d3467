"""Daily partitions by local calendar day in the configured zone, from the configured first day."""

from __future__ import annotations

from datetime import date, timedelta

from dagster import DailyPartitionsDefinition

from jelou_assets.settings import Settings


def daily_partitions(settings: Settings) -> DailyPartitionsDefinition:
    """Every asset's partitions: one per local day of `settings.timezone` since `settings.partitions_start`."""
    return DailyPartitionsDefinition(start_date=settings.partitions_start.isoformat(), timezone=settings.timezone)


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
