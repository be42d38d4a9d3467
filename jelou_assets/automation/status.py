"""Schedules and sensors start stopped, so a fresh `dagster dev` never calls the API on its own;
JELOU_AUTOMATION=running (what a production deployment sets) starts them all."""

from dagster import DefaultScheduleStatus, DefaultSensorStatus

from jelou_assets import settings


def schedule_status() -> DefaultScheduleStatus:
    return DefaultScheduleStatus.RUNNING if settings.automation_running() else DefaultScheduleStatus.STOPPED


def sensor_status() -> DefaultSensorStatus:
    return DefaultSensorStatus.RUNNING if settings.automation_running() else DefaultSensorStatus.STOPPED
