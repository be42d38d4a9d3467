"""Settings read from the environment at definitions load, validated with messages that say what to fix.

Secrets are not read here: they reach `JelouResource` through `dagster.EnvVar`, so they are resolved
only inside a run and never appear in the UI's run config.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEFAULTS = {
    "JELOU_BASE_URL": "https://api.jelou.ai",
    "JELOU_AUTH_SCHEME": "basic",
    "JELOU_TIMEZONE": "America/Guayaquil",
    "JELOU_RESPONSE_TIMEZONE": "UTC",
    "JELOU_PARTITIONS_START": "2024-01-01",
    "JELOU_WAREHOUSE_URL": f"duckdb:///{PROJECT_ROOT / 'data' / 'warehouse.duckdb'}",
    "JELOU_PAGE_SIZE": "50",
    "JELOU_MAX_PAGES_IN_FLIGHT": "4",
    "JELOU_REQUESTS_PER_SECOND": "5",
    "JELOU_API_POOL_LIMIT": "2",
    "JELOU_MAX_REWALKS": "3",
    "JELOU_AUTOMATION": "stopped",
    "JELOU_DAILY_SCHEDULE_HOUR": "2",
    "JELOU_REFRESH_DAYS": "3",
    "JELOU_FRESHNESS_DEADLINE_HOUR": "6",
    "JELOU_ALERT_MIN_CONVERSATIONS": "10",
    "JELOU_ALERT_MAX_AGE_DAYS": "3",
    "JELOU_DAGSTER_UI_URL": "http://127.0.0.1:3000",
    "JELOU_RAW_RETENTION_DAYS": "90",
    "JELOU_REPORTS_DIR": str(PROJECT_ROOT / "data" / "reports"),
}

AUTH_SCHEMES = ("basic", "raw")


class SettingsError(ValueError):
    """A setting has a value the project cannot use; the message names the variable and an example."""


def env(name: str) -> str:
    """The variable's value, or its documented default when unset or empty."""
    return os.environ.get(name) or DEFAULTS[name]


def timezone_setting(name: str) -> str:
    value = env(name)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"{name}={value!r} is not an IANA time zone; use a name such as 'America/Guayaquil' or 'UTC'."
        ) from None
    return value


def partitions_start() -> date:
    value = env("JELOU_PARTITIONS_START")
    try:
        start = date.fromisoformat(value)
    except ValueError:
        raise SettingsError(
            f"JELOU_PARTITIONS_START={value!r} is not a date; use YYYY-MM-DD, e.g. 2024-01-01."
        ) from None
    if start > date.today():
        raise SettingsError(
            f"JELOU_PARTITIONS_START={value!r} is in the future, so there would be no partitions; "
            "use a past day such as 2024-01-01."
        )
    return start


def base_url() -> str:
    value = env("JELOU_BASE_URL").rstrip("/")
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise SettingsError(
            f"JELOU_BASE_URL={value!r} is not an http(s) URL; use e.g. https://api.jelou.ai "
            "(or http://127.0.0.1:8765 for the bundled emulator)."
        )
    return value


def auth_scheme() -> str:
    value = env("JELOU_AUTH_SCHEME").lower()
    if value not in AUTH_SCHEMES:
        raise SettingsError(
            f"JELOU_AUTH_SCHEME={value!r} is not supported; use 'basic' (Authorization: Basic base64(id:secret)) "
            "or 'raw' (Authorization: id:secret)."
        )
    return value


def positive_int(name: str, maximum: int | None = None, minimum: int = 1) -> int:
    value = env(name)
    try:
        number = int(value)
    except ValueError:
        number = minimum - 1
    if number < minimum or (maximum is not None and number > maximum):
        bound = f" and at most {maximum}" if maximum is not None else ""
        raise SettingsError(
            f"{name}={value!r} must be a whole number of at least {minimum}{bound}; e.g. {DEFAULTS[name]}."
        )
    return number


def positive_float(name: str) -> float:
    value = env(name)
    try:
        number = float(value)
    except ValueError:
        number = 0.0
    if not number > 0:
        raise SettingsError(f"{name}={value!r} must be a number above 0; e.g. {DEFAULTS[name]}.")
    return number


def hour_setting(name: str) -> int:
    value = env(name)
    if not value.isdigit() or not 0 <= int(value) <= 23:
        raise SettingsError(f"{name}={value!r} must be an hour of the day from 0 to 23; e.g. {DEFAULTS[name]}.")
    return int(value)


def automation_running() -> bool:
    value = env("JELOU_AUTOMATION").lower()
    if value not in ("running", "stopped"):
        raise SettingsError(
            f"JELOU_AUTOMATION={value!r}: use 'running' (schedules and sensors start on their own) or 'stopped'."
        )
    return value == "running"


def alert_max_age_days() -> int:
    """Breach alerts only for team-days at most this many days before today: a backfill pages no one."""
    return positive_int("JELOU_ALERT_MAX_AGE_DAYS", maximum=36_500)
