"""Daily partitions by local calendar day in the configured zone, from the configured first day."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from dagster import BackfillPolicy, DailyPartitionsDefinition

from jelou_assets.settings import Settings


def daily_partitions(settings: Settings) -> DailyPartitionsDefinition:
    """Every asset's partitions: one per local day of `settings.timezone` since `settings.partitions_start`."""
    return DailyPartitionsDefinition(start_date=settings.partitions_start.isoformat(), timezone=settings.timezone)


def daily_asset_partitioning(partitions: DailyPartitionsDefinition) -> dict[str, Any]:
    """What every asset declares of its partitions: local days, and a whole backfill range taken in one run
    (which still reads and writes one day at a time), so a year costs one run's start-up, not 365."""
    return {"partitions_def": partitions, "backfill_policy": BackfillPolicy.single_run()}


def partition_days(keys: Iterable[str]) -> list[date]:
    """The days a run's partition keys name, in order."""
    return [date.fromisoformat(key) for key in keys]


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
