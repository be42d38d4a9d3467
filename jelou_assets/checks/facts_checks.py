"""Checks on `conversation_facts`: reconciliation with raw, non-null keys (blocking); sanity flags (warning)."""

from collections.abc import Iterator
from datetime import date

import sqlalchemy as sa
from dagster import AssetCheckExecutionContext, AssetCheckSeverity, multi_asset_check

from jelou_assets.checks.daily import DayResult, daily_check_spec, evaluate_per_day
from jelou_assets.warehouse.resource import WarehouseResource

COUNTS = sa.text(
    "SELECT "
    "(SELECT count(DISTINCT conversation_id) FROM jelou.raw_conversations WHERE partition_date = :day) AS raw_ids, "
    "count(*) AS facts, "
    "coalesce(sum(CASE WHEN conversation_id IS NULL OR started_at IS NULL THEN 1 ELSE 0 END), 0) AS null_keys, "
    "coalesce(sum(CASE WHEN sanity_flag IS NOT NULL THEN 1 ELSE 0 END), 0) AS flagged "
    "FROM jelou.conversation_facts WHERE partition_date = :day"
)
FLAGS = sa.text(
    "SELECT sanity_flag, count(*) AS n FROM jelou.conversation_facts "
    "WHERE partition_date = :day AND sanity_flag IS NOT NULL GROUP BY sanity_flag ORDER BY n DESC"
)

FACT_SPECS = [
    daily_check_spec(
        "matches_raw_conversations",
        "conversation_facts",
        "One fact per distinct raw conversation id of the day: nothing lost or invented between layers.",
        blocking=True,
    ),
    daily_check_spec(
        "keys_not_null",
        "conversation_facts",
        "Every fact has a conversation id and a parseable start time.",
        blocking=True,
    ),
]
SANITY_SPEC = daily_check_spec(
    "no_sanity_flags",
    "conversation_facts",
    "Warns when records contradict themselves (negative or mismatched durations, unparseable values).",
)

def _counts(warehouse: WarehouseResource, day: date):
    return warehouse.read_frame(COUNTS, {"day": day}).iloc[0]


def matches_raw(warehouse: WarehouseResource, day: date) -> DayResult:
    row = _counts(warehouse, day)
    raw_ids, facts = int(row["raw_ids"]), int(row["facts"])
    return raw_ids == facts, {"raw_ids": raw_ids, "facts": facts}, f"{facts} facts for {raw_ids} raw conversations"


def keys_not_null(warehouse: WarehouseResource, day: date) -> DayResult:
    nulls = int(_counts(warehouse, day)["null_keys"])
    return nulls == 0, {"null_keys": nulls}, f"{nulls} facts without id or start time"


def no_sanity_flags(warehouse: WarehouseResource, day: date) -> DayResult:
    flags = warehouse.read_frame(FLAGS, {"day": day})
    by_flag = {str(f): int(n) for f, n in zip(flags["sanity_flag"], flags["n"])}
    flagged = sum(by_flag.values())
    return flagged == 0, {"flagged": flagged, **{f"flag:{k}": v for k, v in by_flag.items()}}, (
        f"{flagged} conversations contradict themselves: {by_flag}" if flagged else "no contradictions"
    )


@multi_asset_check(specs=FACT_SPECS, can_subset=True)
def conversation_facts_checks(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> Iterator:
    yield from evaluate_per_day(
        context,
        "conversation_facts",
        {
            "matches_raw_conversations": lambda day: matches_raw(warehouse, day),
            "keys_not_null": lambda day: keys_not_null(warehouse, day),
        },
        blocking=True,
    )


@multi_asset_check(specs=[SANITY_SPEC], can_subset=True)
def conversation_facts_sanity_check(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> Iterator:
    yield from evaluate_per_day(
        context,
        "conversation_facts",
        {"no_sanity_flags": lambda day: no_sanity_flags(warehouse, day)},
        severity=AssetCheckSeverity.WARN,
    )
