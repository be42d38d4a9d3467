"""Every setting the definitions read, each with its one default, validated with messages that say what to fix.

`Settings.from_env()` is called by the definitions' factories when the code location loads (never at
import), so tests build definitions for any configuration in one process. Secrets are not read here:
they reach the resources through `dagster.EnvVar`, so they are resolved only inside a run and never
appear in the UI's run config.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PROJECT_ROOT = Path(__file__).resolve().parent.parent

AUTH_SCHEMES = ("basic", "raw")


class SettingsError(ValueError):
    """A setting has a value the project cannot use; the message names the variable and an example."""


@dataclass(frozen=True)
class Settings:
    """The project's settings. Field `x` is read from the environment variable `JELOU_X`."""

    # Where the API is, and the readings of its documentation that an account may need (docs/API_READINGS.md).
    base_url: str = "https://api.jelou.ai"
    auth_scheme: str = "basic"
    response_timezone: str = "UTC"

    # The local day that each partition is, and the first one.
    timezone: str = "America/Guayaquil"
    partitions_start: date = date(2024, 1, 1)

    # Where the tables are written: a DuckDB file by default, or a PostgreSQL database.
    warehouse_url: str = f"duckdb:///{PROJECT_ROOT / 'data' / 'warehouse.duckdb'}"

    # How hard the API is walked: the account's rate is shared by every run, each taking a share of it.
    page_size: int = 50  # `limit` per request; an API that caps it lower answers 422, named by the client
    max_pages_in_flight: int = 4  # after page 1: 4 keep a 5 requests/s budget busy up to 0.8 s of latency
    requests_per_second: float = 5.0  # the ceiling; 429s and rate headers teach the client a lower rate
    api_pool_limit: int = 2  # raw steps calling the API at once, each starting at that share of the rate
    max_rewalks: int = 3  # extra walks of a window whose pages did not add up, before failing by name

    # When runs start on their own, which days they refresh, and when a day counts as late.
    automation: str = "stopped"
    daily_schedule_hour: int = 2  # local; the late-arrival refresh runs an hour later
    refresh_days: int = 3  # days before yesterday re-read daily, for records the API adds or closes late
    freshness_deadline_hour: int = 6  # local hour by which yesterday must be stored

    # Which breaches are alerted, and where an alert links to.
    alert_min_conversations: int = 10  # a breached team-day with fewer conversations pages no one
    alert_max_age_days: int = 3  # breached days older than this (a backfill's) page no one
    dagster_ui_url: str = "http://127.0.0.1:3000"

    # How long customers' personal fields stay in raw payloads, and where the weekly reports are written.
    raw_retention_days: int = 90
    reports_dir: Path = PROJECT_ROOT / "data" / "reports"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings as the environment gives them; an unset or empty variable keeps the default."""
        environ = os.environ if environ is None else environ
        values = {}
        for field in dataclasses.fields(cls):
            name = env_name(field.name)
            text = environ.get(name)
            if text:
                values[field.name] = _PARSERS[field.name](name, text, field.default)
        return cls(**values)

    @property
    def automation_running(self) -> bool:
        return self.automation == "running"


def env_name(field: str) -> str:
    return f"JELOU_{field.upper()}"


def _timezone(name: str, value: str, default: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"{name}={value!r} is not an IANA time zone; use a name such as 'America/Guayaquil' or 'UTC'."
        ) from None
    return value


def _past_date(name: str, value: str, default: date) -> date:
    try:
        start = date.fromisoformat(value)
    except ValueError:
        raise SettingsError(f"{name}={value!r} is not a date; use YYYY-MM-DD, e.g. {default}.") from None
    if start > date.today():
        raise SettingsError(
            f"{name}={value!r} is in the future, so there would be no partitions; use a past day such as {default}."
        )
    return start


def _http_url(name: str, value: str, default: str) -> str:
    value = value.rstrip("/")
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise SettingsError(
            f"{name}={value!r} is not an http(s) URL; use e.g. {default} "
            "(or http://127.0.0.1:8765 for the bundled emulator)."
        )
    return value


def _auth_scheme(name: str, value: str, default: str) -> str:
    if value.lower() not in AUTH_SCHEMES:
        raise SettingsError(
            f"{name}={value!r} is not supported; use 'basic' (Authorization: Basic base64(id:secret)) "
            "or 'raw' (Authorization: id:secret)."
        )
    return value.lower()


def _automation(name: str, value: str, default: str) -> str:
    if value.lower() not in ("running", "stopped"):
        raise SettingsError(
            f"{name}={value!r}: use 'running' (schedules and sensors start on their own) or 'stopped'."
        )
    return value.lower()


def _warehouse_url(name: str, value: str, default: str) -> str:
    from jelou_assets.warehouse.resource import normalize_url  # the warehouse knows which URLs it opens

    normalize_url(value)
    return value


def _whole(minimum: int, maximum: int) -> Callable[[str, str, int], int]:
    def parse(name: str, value: str, default: int) -> int:
        try:
            number = int(value)
        except ValueError:
            number = minimum - 1
        if not minimum <= number <= maximum:
            raise SettingsError(
                f"{name}={value!r} must be a whole number of at least {minimum} and at most {maximum}; "
                f"e.g. {default}."
            )
        return number

    return parse


def _above_zero(name: str, value: str, default: float) -> float:
    try:
        number = float(value)
    except ValueError:
        number = 0.0
    if not number > 0:
        raise SettingsError(f"{name}={value!r} must be a number above 0; e.g. {default:g}.")
    return number


def _hour(name: str, value: str, default: int) -> int:
    if not value.isdigit() or not 0 <= int(value) <= 23:
        raise SettingsError(f"{name}={value!r} must be an hour of the day from 0 to 23; e.g. {default}.")
    return int(value)


def _text(name: str, value: str, default: str) -> str:
    return value


def _path(name: str, value: str, default: Path) -> Path:
    return Path(value)


_PARSERS: dict[str, Callable] = {
    "base_url": _http_url,
    "auth_scheme": _auth_scheme,
    "timezone": _timezone,
    "response_timezone": _timezone,
    "partitions_start": _past_date,
    "warehouse_url": _warehouse_url,
    "page_size": _whole(1, 1000),
    "max_pages_in_flight": _whole(1, 32),
    "requests_per_second": _above_zero,
    "api_pool_limit": _whole(1, 64),
    "max_rewalks": _whole(0, 20),
    "automation": _automation,
    "daily_schedule_hour": _hour,
    "refresh_days": _whole(1, 60),
    "freshness_deadline_hour": _hour,
    "alert_min_conversations": _whole(1, 1_000_000),
    "alert_max_age_days": _whole(1, 36_500),
    "dagster_ui_url": _text,
    "raw_retention_days": _whole(0, 36_500),
    "reports_dir": _path,
}
