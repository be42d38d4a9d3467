"""Warning check on `team_sla_daily`: which teams missed their attainment goal that day."""

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

import sqlalchemy as sa
from dagster import AssetChecksDefinition, AssetCheckSeverity, DailyPartitionsDefinition, Definitions, MetadataValue, definitions

from jelou_assets.daily_checks import DayResult, daily_checks, days_window
from jelou_assets.partitions import daily_partitions
from jelou_assets.settings import Settings
from jelou_assets.warehouse.resource import WarehouseResource, rows_by_day

if TYPE_CHECKING:
    import pandas as pd

BREACHED = sa.text(
    "SELECT partition_date, team_name, conversations, sla_attainment, attainment_goal, first_reply_p90_s, sla_target_s, "
    "met, breached_conversations, unanswered "
    "FROM jelou.team_sla_daily WHERE partition_date BETWEEN :first AND :last AND breached "
    "ORDER BY partition_date, sla_attainment, team_name"
)


def attainment_meets_goal(warehouse: WarehouseResource, days: Sequence[date]) -> dict[date, DayResult]:
    found = rows_by_day(warehouse.read_frame(BREACHED, days_window(days)))
    return {day: _day_verdict(found.get(day)) for day in days}


def _day_verdict(breached: "pd.DataFrame | None") -> DayResult:
    rows = [] if breached is None else list(breached.itertuples())
    lines = [
        f"{r.team_name}: {r.sla_attainment:.1%} vs goal {r.attainment_goal:.0%} ({r.met} met, "
        f"{r.breached_conversations} breached, {r.unanswered} unanswered of {r.conversations} conversations), "
        f"replied p90 {r.first_reply_p90_s:.0f}s vs target {r.sla_target_s:.0f}s"
        for r in rows
    ]
    metadata = {"teams_breached": len(rows), "breached_teams": MetadataValue.md("\n".join(f"- {l}" for l in lines) or "none")}
    return not rows, metadata, ("breached: " + "; ".join(lines)) if rows else "every team met its goal"


def team_sla_goal_check(partitions: DailyPartitionsDefinition) -> AssetChecksDefinition:
    """A warning, not blocking: a missed goal is news for the lead, not a reason to stop the pipeline."""
    return daily_checks(
        "team_sla_goal_check",
        "team_sla_daily",
        {
            "sla_attainment_meets_goal": (
                "SLA goal: warns with the teams whose share of conversations met (met / (met + breached)) fell "
                "under their goal that day, each with attainment vs goal and p90 vs target.",
                attainment_meets_goal,
            )
        },
        partitions,
        severity=AssetCheckSeverity.WARN,
    )


@definitions
def defs() -> Definitions:
    return Definitions(asset_checks=[team_sla_goal_check(daily_partitions(Settings.from_env()))])
