"""Daily run of yesterday, and a refresh of the days before it so late-closing conversations converge."""

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from dagster import (
    RunRequest,
    ScheduleEvaluationContext,
    SkipReason,
    build_schedule_from_partitioned_job,
    schedule,
)

from jelou_assets import settings
from jelou_assets.automation.jobs import jelou_sla_job
from jelou_assets.automation.status import TOGGLE_NOTE, schedule_status
from jelou_assets.partitions import PARTITION_TIMEZONE, daily_partitions

DAILY_HOUR = settings.hour_setting("JELOU_DAILY_SCHEDULE_HOUR")
REFRESH_DAYS = settings.positive_int("JELOU_REFRESH_DAYS", maximum=60)

daily_sla_schedule = build_schedule_from_partitioned_job(
    jelou_sla_job,
    name="daily_sla_schedule",
    description=f"Every day at {DAILY_HOUR:02d}:00 {PARTITION_TIMEZONE}: yesterday's partition of every asset."
    + TOGGLE_NOTE,
    hour_of_day=DAILY_HOUR,
    minute_of_hour=0,
    default_status=schedule_status(),
)


def refresh_window(local_day: date, days: int = REFRESH_DAYS) -> tuple[date, date] | None:
    """The `days` days before yesterday (yesterday is the daily schedule's), clipped to the partitions' start."""
    last = local_day - timedelta(days=2)
    first = max(last - timedelta(days=days - 1), daily_partitions.start.date())
    return (first, last) if first <= last else None


@schedule(
    name="late_arrival_refresh_schedule",
    job=jelou_sla_job,
    cron_schedule=f"0 {(DAILY_HOUR + 1) % 24} * * *",
    execution_timezone=PARTITION_TIMEZONE,
    default_status=schedule_status(),
    description=f"Re-materializes the {REFRESH_DAYS} days before yesterday in one run: conversations still "
    "active at the first load have closed since, so states and SLA numbers converge." + TOGGLE_NOTE,
)
def late_arrival_refresh_schedule(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
    local_day = context.scheduled_execution_time.astimezone(ZoneInfo(PARTITION_TIMEZONE)).date()
    window = refresh_window(local_day)
    if window is None:
        return SkipReason("no complete days before yesterday yet")
    first, last = (day.isoformat() for day in window)
    return RunRequest(
        run_key=f"late-arrival-refresh:{first}:{last}",
        tags={"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last},
    )
