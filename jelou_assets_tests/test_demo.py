"""`make demo` as a new user sees it: a short, quiet run of the last seven days, then the SLA tables."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from jelou_assets.settings import PROJECT_ROOT

STEPS_WITH_DAYS = ("raw_conversations", "conversation_facts")


def test_the_demo_prints_one_line_per_step_and_day_the_tables_and_where_the_log_went(tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "home"),
           "JELOU_WAREHOUSE_URL": f"duckdb:///{tmp_path / 'warehouse.duckdb'}"}
    done = subprocess.run([sys.executable, "-m", "jelou_assets.demo"], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    lines = (done.stdout + done.stderr).splitlines()
    assert not [line for line in lines if re.search(r"warning", line, re.I)]
    for step in STEPS_WITH_DAYS:
        assert len([line for line in lines if re.match(rf"  {step}: \d{{4}}-\d{{2}}-\d{{2}} \(\d/7\): ", line)]) == 7
    assert "  sla_marts: done" in lines and "  run: done" in lines
    assert any(line.startswith("== team_sla_daily") for line in lines)
    log = tmp_path / "home" / "demo-dagster.log"
    assert f"full Dagster log: {log}" in lines and "RUN_SUCCESS" in log.read_text()
    # Two screens: the progress, three tables of at most 35 rows, and their headers.
    assert len(lines) <= 160, len(lines)
