"""The project as `dg` sees it: the same Definitions as `jelou_assets.definitions`, loading cleanly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from jelou_assets.definitions import build_definitions
from jelou_assets.settings import PROJECT_ROOT

DG = str(Path(sys.executable).parent / "dg")
# As a user runs it: from the project, with its virtual environment active.
ENV = {**os.environ, "VIRTUAL_ENV": str(Path(sys.executable).parent.parent)}


def dg(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([DG, *args], cwd=PROJECT_ROOT, env=ENV, capture_output=True, text=True, timeout=300)


def test_dg_check_defs_loads_every_definition():
    checked = dg("check", "defs")
    assert checked.returncode == 0, checked.stdout[-2000:] + checked.stderr[-2000:]
    assert "All definitions loaded successfully" in checked.stdout + checked.stderr


def test_dg_list_defs_shows_the_assets_jobs_schedules_and_sensors():
    listed = dg("list", "defs", "--json")
    assert listed.returncode == 0, listed.stderr[-2000:]
    for name in ("raw_conversations", "conversation_facts", "team_sla_daily", "sla_report", "jelou_sla_job",
                 "daily_sla_schedule", "sla_breach_sensor"):
        assert f'"{name}"' in listed.stdout, name


def test_each_defs_folder_puts_its_assets_in_its_own_ui_group():
    # The folders' defs.yaml name the group once; no asset names it itself.
    graph = build_definitions().resolve_asset_graph()
    groups = {node.key.to_user_string(): node.group_name for node in graph.asset_nodes}
    assert {groups["raw_conversations"], groups["conversation_facts"]} == {"jelou"}
    assert {group for key, group in groups.items() if key not in ("raw_conversations", "conversation_facts")} == {"sla"}
    assert {"team_sla_daily", "sla_policies", "sla_report"} <= groups.keys()


def test_loading_the_definitions_imports_neither_pandas_nor_matplotlib_nor_slack():
    # The UI, the daemon and every run load the definitions; only the steps that clean, draw or post to Slack need these.
    probe = "import sys; import jelou_assets.definitions; print(sorted({'pandas', 'matplotlib', 'slack_sdk'} & set(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    assert loaded.stdout.splitlines()[-1] == "[]"
