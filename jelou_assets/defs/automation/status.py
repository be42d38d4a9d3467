"""Schedules and sensors start stopped, so a fresh `dagster dev` never calls the API on its own;
JELOU_AUTOMATION=running (what `make dev` and a production deployment set) starts them all."""

from dagster import DefaultScheduleStatus, DefaultSensorStatus

from jelou_assets.settings import Settings

# Ends every schedule's and sensor's description, so the UI says why it is off and how to change that.
TOGGLE_NOTE = (
    " Starts stopped unless JELOU_AUTOMATION=running (`make dev` and production set it); "
    "turn it on or off on this page."
)


def schedule_status(settings: Settings) -> DefaultScheduleStatus:
    return DefaultScheduleStatus.RUNNING if settings.automation_running else DefaultScheduleStatus.STOPPED


def sensor_status(settings: Settings) -> DefaultSensorStatus:
    return DefaultSensorStatus.RUNNING if settings.automation_running else DefaultSensorStatus.STOPPED
