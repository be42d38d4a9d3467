"""What the schedules ask for at a given moment, timezone edges included (partitions in America/Guayaquil)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from dagster import DefaultScheduleStatus, DefaultSensorStatus, build_schedule_context

from jelou_assets.definitions import build_definitions, defs

# As the daemon sees them: resolved against the code location (the job's partitions come from its assets).
daily_sla_schedule = defs.get_repository_def().get_schedule_def("daily_sla_schedule")
late_arrival_refresh_schedule = defs.get_repository_def().get_schedule_def("late_arrival_refresh_schedule")

LOCAL = ZoneInfo("America/Guayaquil")
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def run_requests(schedule, when: datetime, instance):
    context = build_schedule_context(instance=instance, scheduled_execution_time=when, repository_def=defs.get_repository_def())
    return schedule.evaluate_tick(context).run_requests or []


@pytest.mark.parametrize(
    "local_time, partition",
    [
        (datetime(2025, 3, 2, 2, 0, tzinfo=LOCAL), "2025-03-01"),  # its own time: yesterday
        (datetime(2025, 3, 2, 0, 30, tzinfo=LOCAL), "2025-03-01"),  # just after local midnight (05:30 UTC)
        (datetime(2025, 3, 1, 23, 30, tzinfo=LOCAL), "2025-02-28"),  # already 2 March in UTC, still 1 March here
    ],
)
def test_daily_schedule_requests_yesterdays_local_partition(local_time, partition, instance):
    requests = run_requests(daily_sla_schedule, local_time, instance)
    assert [r.partition_key for r in requests] == [partition]


def test_daily_schedule_runs_at_two_local_time():
    assert daily_sla_schedule.cron_schedule == "0 2 * * *"
    assert daily_sla_schedule.execution_timezone == "America/Guayaquil"


@pytest.mark.parametrize(
    "local_time, first, last",
    [
        (datetime(2025, 3, 10, 3, 0, tzinfo=LOCAL), "2025-03-06", "2025-03-08"),
        (datetime(2025, 3, 10, 0, 30, tzinfo=LOCAL), "2025-03-06", "2025-03-08"),
        (datetime(2025, 3, 9, 23, 30, tzinfo=LOCAL), "2025-03-05", "2025-03-07"),
    ],
)
def test_refresh_schedule_requests_the_three_days_before_yesterday_in_one_run(local_time, first, last, instance):
    [request] = run_requests(late_arrival_refresh_schedule, local_time, instance)
    assert (request.tags[RANGE_START], request.tags[RANGE_END]) == (first, last)
    assert request.partition_key is None


def test_refresh_is_clipped_to_the_first_partition(instance):
    [request] = run_requests(late_arrival_refresh_schedule, datetime(2024, 1, 4, 3, 0, tzinfo=LOCAL), instance)
    assert (request.tags[RANGE_START], request.tags[RANGE_END]) == ("2024-01-01", "2024-01-02")


def test_automation_is_stopped_by_default():
    repository = defs.get_repository_def()
    assert {s.default_status for s in repository.schedule_defs} == {DefaultScheduleStatus.STOPPED}
    assert {s.default_status for s in repository.sensor_defs} == {DefaultSensorStatus.STOPPED}


def test_one_setting_starts_every_schedule_and_sensor(monkeypatch):
    monkeypatch.setenv("JELOU_AUTOMATION", "running")
    repository = build_definitions().get_repository_def()
    statuses = {s.default_status.value for s in [*repository.schedule_defs, *repository.sensor_defs]}
    assert statuses == {"RUNNING"}


def test_the_scheduled_job_rebuilds_the_rollups_of_the_days_it_runs():
    """Daily run and late-arrival refresh alike rebuild the weeks and months holding their days, so a
    period is complete once its last day ran and follows every refresh of its days."""
    from jelou_assets.defs.automation.jobs import jelou_sla_job

    built = {key.to_user_string() for key in jelou_sla_job.selection.resolve(defs.resolve_asset_graph())}
    assert {"conversation_sla", "team_channel_sla_daily", "team_sla_weekly", "team_sla_monthly",
            "operator_sla_weekly", "operator_sla_monthly"} <= built
    assert {daily_sla_schedule.job_name, late_arrival_refresh_schedule.job_name} == {"jelou_sla_job"}


def test_every_schedule_and_sensor_says_in_the_ui_how_to_turn_it_on():
    repository = defs.get_repository_def()
    described = [*repository.schedule_defs, *(s for s in repository.sensor_defs if s.name != "freshness_checks_sensor")]
    assert len(described) >= 5
    assert all("JELOU_AUTOMATION=running" in (d.description or "") for d in described), [d.name for d in described]
