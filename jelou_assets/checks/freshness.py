"""Freshness: yesterday's partition of each asset must be materialized by a local deadline hour."""

import warnings

from dagster import AssetKey, SupersessionWarning, build_sensor_for_freshness_checks, build_time_partition_freshness_checks

from jelou_assets import settings
from jelou_assets.automation.status import sensor_status
from jelou_assets.partitions import PARTITION_TIMEZONE

FRESHNESS_DEADLINE_HOUR = settings.hour_setting("JELOU_FRESHNESS_DEADLINE_HOUR")

# FreshnessPolicy, which supersedes these, judges an asset's last materialization, not whether yesterday's
# *partition* exists: a re-run of an old day would make a missing yesterday look fresh. So these stay.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", SupersessionWarning)
    freshness_checks = build_time_partition_freshness_checks(
        assets=[AssetKey(name) for name in ("raw_conversations", "conversation_facts", "team_sla_daily", "operator_sla_daily")],
        deadline_cron=f"0 {FRESHNESS_DEADLINE_HOUR} * * *",
        timezone=PARTITION_TIMEZONE,
    )
    freshness_checks_sensor = build_sensor_for_freshness_checks(
        freshness_checks=freshness_checks,
        name="freshness_checks_sensor",
        default_status=sensor_status(),
    )
