"""Checks on `conversation_facts`: reconciliation with raw, non-null keys (blocking); sanity flags (warning)."""

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

import sqlalchemy as sa
from dagster import AssetChecksDefinition, AssetCheckSeverity, DailyPartitionsDefinition, Definitions, definitions

from jelou_assets.daily_checks import DayResult, daily_checks, days_window
from jelou_assets.partitions import daily_partitions
from jelou_assets.settings import Settings
from jelou_assets.warehouse.resource import WarehouseResource, rows_by_day

if TYPE_CHECKING:
    import pandas as pd

RAW_IDS = sa.text(
    "SELECT partition_date, count(DISTINCT conversation_id) AS raw_ids FROM jelou.raw_conversations "
    "WHERE partition_date BETWEEN :first AND :last GROUP BY partition_date"
)
FACT_COUNTS = sa.text(
    "SELECT partition_date, count(*) AS facts, "
    "coalesce(sum(CASE WHEN conversation_id IS NULL OR started_at IS NULL THEN 1 ELSE 0 END), 0) AS null_keys "
    "FROM jelou.conversation_facts WHERE partition_date BETWEEN :first AND :last GROUP BY partition_date"
)
FLAGS = sa.text(
    "SELECT partition_date, sanity_flag, count(*) AS n FROM jelou.conversation_facts "
    "WHERE partition_date BETWEEN :first AND :last AND sanity_flag IS NOT NULL "
    "GROUP BY partition_date, sanity_flag ORDER BY partition_date, n DESC, sanity_flag"
)

def _per_day(found: "dict[date, pd.DataFrame]", days: Sequence[date], column: str) -> dict[date, int]:
    """A grouped count per day of the run; 0 for a day without rows."""
    return {day: int(found[day][column].iloc[0]) if day in found else 0 for day in days}


def matches_raw(warehouse: WarehouseResource, days: Sequence[date]) -> dict[date, DayResult]:
    window = days_window(days)
    raw_ids = _per_day(rows_by_day(warehouse.read_frame(RAW_IDS, window)), days, "raw_ids")
    facts = _per_day(rows_by_day(warehouse.read_frame(FACT_COUNTS, window)), days, "facts")
    return {
        day: (raw_ids[day] == facts[day], {"raw_ids": raw_ids[day], "facts": facts[day]},
              f"{facts[day]} facts for {raw_ids[day]} raw conversations")
        for day in days
    }


def keys_not_null(warehouse: WarehouseResource, days: Sequence[date]) -> dict[date, DayResult]:
    nulls = _per_day(rows_by_day(warehouse.read_frame(FACT_COUNTS, days_window(days))), days, "null_keys")
    return {day: (nulls[day] == 0, {"null_keys": nulls[day]}, f"{nulls[day]} facts without id or start time") for day in days}


def no_sanity_flags(warehouse: WarehouseResource, days: Sequence[date]) -> dict[date, DayResult]:
    found = rows_by_day(warehouse.read_frame(FLAGS, days_window(days)))
    results = {}
    for day in days:
        flags = found.get(day)
        by_flag = {} if flags is None else {str(f): int(n) for f, n in zip(flags["sanity_flag"], flags["n"])}
        flagged = sum(by_flag.values())
        results[day] = (flagged == 0, {"flagged": flagged, **{f"flag:{k}": v for k, v in by_flag.items()}}, (
            f"{flagged} conversations contradict themselves: {by_flag}" if flagged else "no contradictions"
        ))
    return results


def conversation_facts_checks(partitions: DailyPartitionsDefinition) -> list[AssetChecksDefinition]:
    """The blocking reconciliation and key checks, and the sanity-flag warning apart, so a warning blocks nothing."""
    blocking = daily_checks(
        "conversation_facts_checks",
        "conversation_facts",
        {
            "matches_raw_conversations": (
                "One fact per distinct raw conversation id of the day: nothing lost or invented between layers.",
                matches_raw,
            ),
            "keys_not_null": ("Every fact has a conversation id and a parseable start time.", keys_not_null),
        },
        partitions,
        blocking=True,
    )
    sanity = daily_checks(
        "conversation_facts_sanity_check",
        "conversation_facts",
        {
            "no_sanity_flags": (
                "Warns when records contradict themselves (negative or mismatched durations, unparseable values).",
                no_sanity_flags,
            )
        },
        partitions,
        severity=AssetCheckSeverity.WARN,
    )
    return [blocking, sanity]


@definitions
def defs() -> Definitions:
    return Definitions(asset_checks=conversation_facts_checks(daily_partitions(Settings.from_env())))
