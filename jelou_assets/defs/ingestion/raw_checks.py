"""Blocking checks on `raw_conversations`: what was stored is exactly what the API said the window holds."""

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from dagster import AssetChecksDefinition, DailyPartitionsDefinition, Definitions, definitions

from jelou_assets.daily_checks import DayResult, daily_checks, days_window
from jelou_assets.partitions import daily_partitions
from jelou_assets.settings import Settings
from jelou_assets.warehouse import tables
from jelou_assets.warehouse.resource import WarehouseResource, rows_by_day

STORED = sa.text(
    "SELECT partition_date, count(*) AS stored_rows, count(DISTINCT conversation_id) AS distinct_ids "
    "FROM jelou.raw_conversations WHERE partition_date BETWEEN :first AND :last GROUP BY partition_date"
)
LOADS = sa.select(tables.raw_partition_loads).where(
    tables.raw_partition_loads.c.partition_date.between(sa.bindparam("first"), sa.bindparam("last"))
)


def _stored(warehouse: WarehouseResource, days: Sequence[date]) -> dict[date, tuple[int, int]]:
    """(stored rows, distinct ids) per day; (0, 0) for a day with nothing stored."""
    found = rows_by_day(warehouse.read_frame(STORED, days_window(days)))
    return {
        day: (int(found[day]["stored_rows"].iloc[0]), int(found[day]["distinct_ids"].iloc[0])) if day in found else (0, 0)
        for day in days
    }


def stored_matches_api_total(warehouse: WarehouseResource, days: Sequence[date]) -> dict[date, DayResult]:
    stored = _stored(warehouse, days)
    loads = rows_by_day(warehouse.read_frame(LOADS, days_window(days)))
    results = {}
    for day in days:
        distinct_ids = stored[day][1]
        if day not in loads:
            results[day] = (False, {"distinct_ids": distinct_ids}, "no load record for this day: materialize it")
            continue
        load = loads[day].iloc[-1]
        metadata = {
            "distinct_ids": distinct_ids,
            "api_total": int(load["api_total"]),
            "pages": int(load["pages"]),
            "rewalks": int(load["walks"]) - 1,
            "requests": int(load["requests"]),
        }
        passed = distinct_ids == metadata["api_total"]
        description = (
            f"{distinct_ids} conversations stored, API reported {metadata['api_total']}"
            if not passed else f"{metadata['api_total']} conversations, as the API reported"
        )
        results[day] = (passed, metadata, description)
    return results


def unique_conversation_ids(warehouse: WarehouseResource, days: Sequence[date]) -> dict[date, DayResult]:
    results = {}
    for day, (stored_rows, distinct_ids) in _stored(warehouse, days).items():
        duplicates = stored_rows - distinct_ids
        results[day] = (duplicates == 0, {"duplicate_rows": duplicates}, f"{duplicates} rows repeat a conversation id")
    return results


def raw_conversations_checks(partitions: DailyPartitionsDefinition) -> AssetChecksDefinition:
    """Both checks of the stored days, blocking: facts are not built from an incomplete or duplicated day."""
    return daily_checks(
        "raw_conversations_checks",
        "raw_conversations",
        {
            "stored_matches_api_total": (
                "Distinct conversation ids stored for the day equal the API's pagination.total.",
                stored_matches_api_total,
            ),
            "unique_conversation_ids": ("No conversation id is stored twice for the day.", unique_conversation_ids),
        },
        partitions,
        blocking=True,
    )


@definitions
def defs() -> Definitions:
    return Definitions(asset_checks=[raw_conversations_checks(daily_partitions(Settings.from_env()))])
