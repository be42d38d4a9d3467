"""A bad setting fails when the definitions load (or when a run starts), naming the variable and a valid
example, before any request reaches the API."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import materialize

from jelou_assets.defs.resources import CREDENTIALS
from jelou_assets.definitions import build_definitions
from jelou_assets.settings import PROJECT_ROOT, SettingsError
from jelou_assets.warehouse.resource import WarehouseResource
from jelou_assets_tests.support.emulated_api import jelou_for
from jelou_assets_tests.support.project import raw_conversations

pytestmark = pytest.mark.reliability


@pytest.mark.parametrize(
    "variable, value, example",
    [
        ("JELOU_TIMEZONE", "Mars/Olympus", "America/Guayaquil"),
        ("JELOU_RESPONSE_TIMEZONE", "UTC+5", "UTC"),
        ("JELOU_BASE_URL", "api.jelou.ai", "https://api.jelou.ai"),
        ("JELOU_AUTH_SCHEME", "bearer", "basic"),
        ("JELOU_PARTITIONS_START", "01/03/2025", "2024-01-01"),
        ("JELOU_PARTITIONS_START", "2999-01-01", "2024-01-01"),
        ("JELOU_PAGE_SIZE", "0", "50"),
        ("JELOU_PAGE_SIZE", "5000", "50"),
        ("JELOU_MAX_PAGES_IN_FLIGHT", "many", "4"),
        ("JELOU_REQUESTS_PER_SECOND", "-1", "5"),
        ("JELOU_MAX_REWALKS", "-1", "3"),
        ("JELOU_WAREHOUSE_URL", "sqlite:///x.db", "duckdb:///data/warehouse.duckdb"),
        ("JELOU_WAREHOUSE_URL", "not a url", "postgresql+psycopg://"),
        ("JELOU_AUTOMATION", "yes", "running"),
        ("JELOU_DAILY_SCHEDULE_HOUR", "25", "2"),
        ("JELOU_REFRESH_DAYS", "0", "3"),
        ("JELOU_FRESHNESS_DEADLINE_HOUR", "noon", "6"),
        ("JELOU_ALERT_MIN_CONVERSATIONS", "ten", "10"),
        ("JELOU_ALERT_MAX_AGE_DAYS", "0", "3"),
        ("JELOU_RAW_RETENTION_DAYS", "-5", "90"),
    ],
)
def test_bad_setting_fails_at_load_naming_the_variable_and_an_example(variable, value, example, monkeypatch):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as raised:
        build_definitions()
    assert variable in str(raised.value) and example in str(raised.value)


def test_warehouse_password_is_not_echoed_in_the_error(monkeypatch):
    monkeypatch.setenv("JELOU_WAREHOUSE_URL", "mysql://user:hunter2@db/warehouse")
    with pytest.raises(SettingsError) as raised:
        build_definitions()
    assert "hunter2" not in str(raised.value)


def test_unreachable_warehouse_fails_the_run_before_any_request(emulator):
    unreachable = WarehouseResource(url="postgresql+psycopg://nobody@127.0.0.1:1/warehouse", lock_timeout_s=1)
    result = materialize([raw_conversations], partition_key="2025-03-01", raise_on_error=False,
                         resources={"jelou": jelou_for(emulator), "warehouse": unreachable})
    assert not result.success
    assert emulator.requests == []
    failure = next(e for e in result.all_events if e.is_failure)
    assert "JELOU_WAREHOUSE_URL" in str(failure.event_specific_data.error.to_string())


def without_credentials() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in CREDENTIALS}


def test_missing_credentials_are_named_with_an_example_at_load():
    completed = subprocess.run([sys.executable, "-c", "import jelou_assets.definitions"], cwd=PROJECT_ROOT,
                               env=without_credentials(), capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-2000:]
    for name, example in CREDENTIALS.items():
        assert f"{name} is not set" in completed.stderr and f"{name}={example}" in completed.stderr


@pytest.mark.slow
def test_run_without_credentials_fails_at_start_naming_them_before_any_request(emulator, tmp_path):
    env = {**without_credentials(), "DAGSTER_HOME": str(tmp_path), "JELOU_BASE_URL": emulator.url,
           "JELOU_WAREHOUSE_URL": f"duckdb:///{tmp_path / 'warehouse.duckdb'}"}
    command = [str(Path(sys.executable).parent / "dagster"), "asset", "materialize", "-m", "jelou_assets.definitions",
               "--select", "raw_conversations", "--partition", "2025-03-01"]
    completed = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert completed.returncode != 0
    assert 'environment variable "JELOU_CLIENT_ID" which is not set' in completed.stderr
    assert 'environment variable "JELOU_CLIENT_SECRET" which is not set' in completed.stderr
    assert emulator.requests == []
