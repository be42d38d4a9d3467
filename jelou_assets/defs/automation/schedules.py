"""Daily run of yesterday, and a refresh of the days before it so late-closing conversations converge."""

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from dagster import (
    Definitions,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
    build_schedule_from_partitioned_job,
    definitions,
    schedule,
)

from jelou_assets.defs.automation.jobs import jelou_sla_job
from jelou_assets.defs.automation.status import TOGGLE_NOTE, schedule_status
from jelou_assets.settings import Settings


def refresh_window(local_day: date, days: int, first_day: date) -> tuple[date, date] | None:
    """The `days` days before yesterday (yesterday is the daily schedule's), clipped to the partitions' start."""
    last = local_day - timedelta(days=2)
    first = max(last - timedelta(days=days - 1), first_day)
    return (first, last) if first <= last else None


def sla_schedules(settings: Settings) -> list[ScheduleDefinition]:
    """The daily schedule at JELOU_DAILY_SCHEDULE_HOUR and the late-arrival refresh an hour later."""
    hour, zone, refresh_days = settings.daily_schedule_hour, settings.timezone, settings.refresh_days
    daily_sla_schedule = build_schedule_from_partitioned_job(
        jelou_sla_job,
        name="daily_sla_schedule",
        description=f"Every day at {hour:02d}:00 {zone}: yesterday's partition of every asset." + TOGGLE_NOTE,
        hour_of_day=hour,
        minute_of_hour=0,
        default_status=schedule_status(settings),
    )

    @schedule(
        name="late_arrival_refresh_schedule",
        job=jelou_sla_job,
        cron_schedule=f"0 {(hour + 1) % 24} * * *",
        execution_timezone=zone,
        default_status=schedule_status(settings),
        description=f"Re-materializes the {refresh_days} days before yesterday in one run: conversations still "
        "active at the first load have closed since, so states and SLA numbers converge." + TOGGLE_NOTE,
    )
    def late_arrival_refresh_schedule(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
        local_day = context.scheduled_execution_time.astimezone(ZoneInfo(zone)).date()
        window = refresh_window(local_day, refresh_days, settings.partitions_start)
        if window is None:
            return SkipReason("no complete days before yesterday yet")
        first, last = (day.isoformat() for day in window)
        return RunRequest(
            run_key=f"late-arrival-refresh:{first}:{last}",
            tags={"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last},
        )

    return [daily_sla_schedule, late_arrival_refresh_schedule]


@definitions
def defs() -> Definitions:
    return Definitions(schedules=sla_schedules(Settings.from_env()))
