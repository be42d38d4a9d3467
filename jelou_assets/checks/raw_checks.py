"""Blocking checks on `raw_conversations`: what was stored is exactly what the API said the window holds."""

from collections.abc import Iterator, Sequence
from datetime import date

import sqlalchemy as sa
from dagster import AssetCheckExecutionContext, multi_asset_check

from jelou_assets.checks.daily import DayResult, daily_check_spec, days_window, evaluate_per_day
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


@multi_asset_check(
    specs=[
        daily_check_spec(
            "stored_matches_api_total",
            "raw_conversations",
            "Distinct conversation ids stored for the day equal the API's pagination.total.",
            blocking=True,
        ),
        daily_check_spec(
            "unique_conversation_ids",
            "raw_conversations",
            "No conversation id is stored twice for the day.",
            blocking=True,
        ),
    ],
    can_subset=True,
)
def raw_conversations_checks(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> Iterator:
    yield from evaluate_per_day(
        context,
        "raw_conversations",
        {
            "stored_matches_api_total": lambda days: stored_matches_api_total(warehouse, days),
            "unique_conversation_ids": lambda days: unique_conversation_ids(warehouse, days),
        },
        blocking=True,
    )
