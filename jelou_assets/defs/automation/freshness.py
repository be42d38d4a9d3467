"""Freshness: yesterday's partition of each asset must be materialized by a local deadline hour."""

import warnings

from dagster import (
    AssetChecksDefinition,
    AssetKey,
    Definitions,
    SensorDefinition,
    SupersessionWarning,
    build_sensor_for_freshness_checks,
    build_time_partition_freshness_checks,
    definitions,
)

from jelou_assets.defs.automation.jobs import FRESH_BY_DEADLINE
from jelou_assets.defs.automation.status import sensor_status
from jelou_assets.settings import Settings


def freshness_checks(settings: Settings) -> tuple[list[AssetChecksDefinition], SensorDefinition]:
    """The checks, due at JELOU_FRESHNESS_DEADLINE_HOUR in the partitions' zone, and the sensor that runs them."""
    # FreshnessPolicy, which supersedes these, judges an asset's last materialization, not whether yesterday's
    # *partition* exists: a re-run of an old day would make a missing yesterday look fresh. So these stay.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SupersessionWarning)
        checks = build_time_partition_freshness_checks(
            assets=[AssetKey(name) for name in FRESH_BY_DEADLINE],
            deadline_cron=f"0 {settings.freshness_deadline_hour} * * *",
            timezone=settings.timezone,
        )
        sensor = build_sensor_for_freshness_checks(
            freshness_checks=checks, name="freshness_checks_sensor", default_status=sensor_status(settings)
        )
    return list(checks), sensor


@definitions
def defs() -> Definitions:
    checks, sensor = freshness_checks(Settings.from_env())
    return Definitions(asset_checks=checks, sensors=[sensor])
