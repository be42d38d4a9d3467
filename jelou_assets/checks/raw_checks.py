"""Blocking checks on `raw_conversations`: what was stored is exactly what the API said the window holds."""

from collections.abc import Iterator
from datetime import date

import sqlalchemy as sa
from dagster import AssetCheckExecutionContext, multi_asset_check

from jelou_assets.checks.daily import DayResult, daily_check_spec, evaluate_per_day
from jelou_assets.warehouse import tables
from jelou_assets.warehouse.resource import WarehouseResource

STORED = sa.text(
    "SELECT count(*) AS stored_rows, count(DISTINCT conversation_id) AS distinct_ids "
    "FROM jelou.raw_conversations WHERE partition_date = :day"
)
LOAD = sa.select(tables.raw_partition_loads).where(tables.raw_partition_loads.c.partition_date == sa.bindparam("day"))


def stored_matches_api_total(warehouse: WarehouseResource, day: date) -> DayResult:
    stored = warehouse.read_frame(STORED, {"day": day}).iloc[0]
    load = warehouse.read_frame(LOAD, {"day": day})
    if load.empty:
        return False, {"distinct_ids": int(stored["distinct_ids"])}, "no load record for this day: materialize it"
    load = load.iloc[-1]
    metadata = {
        "distinct_ids": int(stored["distinct_ids"]),
        "api_total": int(load["api_total"]),
        "pages": int(load["pages"]),
        "rewalks": int(load["walks"]) - 1,
        "requests": int(load["requests"]),
    }
    passed = metadata["distinct_ids"] == metadata["api_total"]
    description = (
        f"{metadata['distinct_ids']} conversations stored, API reported {metadata['api_total']}"
        if not passed else f"{metadata['api_total']} conversations, as the API reported"
    )
    return passed, metadata, description


def unique_conversation_ids(warehouse: WarehouseResource, day: date) -> DayResult:
    stored = warehouse.read_frame(STORED, {"day": day}).iloc[0]
    duplicates = int(stored["stored_rows"]) - int(stored["distinct_ids"])
    return duplicates == 0, {"duplicate_rows": duplicates}, f"{duplicates} rows repeat a conversation id"


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
            "stored_matches_api_total": lambda day: stored_matches_api_total(warehouse, day),
            "unique_conversation_ids": lambda day: unique_conversation_ids(warehouse, day),
        },
        blocking=True,
    )
