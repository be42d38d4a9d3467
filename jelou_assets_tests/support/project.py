"""The project's assets and checks built for the default settings (partitions in America/Guayaquil from
2024-01-01), as most tests run them; a test about another configuration builds its own."""

from __future__ import annotations

from datetime import date, datetime

from jelou_assets import day_windows
from jelou_assets.defs.ingestion.conversation_facts import conversation_facts_asset
from jelou_assets.defs.ingestion.facts_checks import conversation_facts_checks as facts_checks
from jelou_assets.defs.ingestion.raw_checks import raw_conversations_checks as raw_checks
from jelou_assets.defs.ingestion.raw_conversations import raw_conversations_asset
from jelou_assets.defs.sla.goal_check import team_sla_goal_check as goal_check
from jelou_assets.defs.sla.marts import sla_marts_assets
from jelou_assets.partitions import daily_partitions
from jelou_assets.settings import Settings

SETTINGS = Settings()
PARTITION_TIMEZONE = SETTINGS.timezone
PARTITIONS = daily_partitions(SETTINGS)

raw_conversations = raw_conversations_asset(PARTITIONS)
conversation_facts = conversation_facts_asset(PARTITIONS, SETTINGS.response_timezone)
sla_marts = sla_marts_assets(PARTITIONS)
raw_conversations_checks = raw_checks(PARTITIONS)
conversation_facts_checks, conversation_facts_sanity_check = facts_checks(PARTITIONS)
team_sla_goal_check = goal_check(PARTITIONS)


def day_window(day: date, timezone: str = PARTITION_TIMEZONE) -> tuple[datetime, datetime]:
    """The API window of local `day` (the partitions' zone unless told otherwise)."""
    return day_windows.day_window(day, timezone)
