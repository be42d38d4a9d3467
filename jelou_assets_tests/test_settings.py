"""Settings are read when the definitions load, in one process and for any environment; a command that loads
them with a bad one ends on that setting's own message."""

from __future__ import annotations

import os
import subprocess
import sys

from jelou_assets.definitions import build_definitions
from jelou_assets.settings import PROJECT_ROOT


def test_a_bad_setting_is_the_last_line_a_command_prints():
    completed = subprocess.run([sys.executable, "-c", "import jelou_assets.definitions"], cwd=PROJECT_ROOT,
                               env={**os.environ, "JELOU_TIMEZONE": "Mars/Olympus"}, capture_output=True, text=True,
                               timeout=300)
    assert completed.returncode != 0
    last_line = completed.stderr.strip().splitlines()[-1]
    assert last_line.startswith("jelou_assets.settings.SettingsError") and "JELOU_TIMEZONE" in last_line, last_line


def test_every_setting_is_read_when_the_definitions_load_not_at_import(monkeypatch):
    monkeypatch.setenv("JELOU_TIMEZONE", "Asia/Tokyo")
    monkeypatch.setenv("JELOU_PARTITIONS_START", "2025-01-01")
    monkeypatch.setenv("JELOU_DAILY_SCHEDULE_HOUR", "5")
    loaded = build_definitions()
    partitions = loaded.resolve_assets_def("raw_conversations").partitions_def
    assert (partitions.timezone, partitions.get_first_partition_key()) == ("Asia/Tokyo", "2025-01-01")
    schedule = loaded.get_repository_def().get_schedule_def("daily_sla_schedule")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 5 * * *", "Asia/Tokyo")
