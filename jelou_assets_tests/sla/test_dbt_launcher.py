"""`jelou-dbt`, the dbt command line dagster-dbt runs: the same dbt, with a `--version` that loads nothing."""

from __future__ import annotations

import re
import subprocess
import sys

from jelou_assets.definitions import build_definitions
from jelou_assets.sla.dbt_project import DBT_EXECUTABLE, DBT_LAUNCHER

# How dagster-dbt reads a version out of `<dbt executable> --version`.
VERSION = re.compile(r"(\d+\.\d+\.\d+)")


def output_of(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_the_launcher_reports_the_version_dbt_itself_reports():
    launcher, dbt = output_of(DBT_LAUNCHER, "--version"), output_of(DBT_EXECUTABLE, "--version")
    assert launcher.returncode == dbt.returncode == 0
    assert VERSION.search(launcher.stdout).group(1) == VERSION.search(dbt.stdout).group(1)


def test_answering_the_version_imports_neither_dbt_nor_dagster():
    probe = (
        "import sys; sys.argv = ['jelou-dbt', '--version']\n"
        "from jelou_assets.sla import dbt_launcher; dbt_launcher.main()\n"
        "print(sorted({name.split('.')[0] for name in sys.modules} & {'dbt', 'dagster', 'dagster_dbt'}))"
    )
    result = output_of(sys.executable, "-c", probe)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "[]"


def test_every_other_command_is_dbts_own_with_its_exit_status():
    launcher = output_of(DBT_LAUNCHER, "no-such-command")
    assert launcher.returncode == 2  # dbt's command line's usage error
    assert "No such command 'no-such-command'" in launcher.stderr


def test_the_marts_run_dbt_through_the_launcher():
    assert build_definitions().resources["dbt"].dbt_executable == DBT_LAUNCHER
