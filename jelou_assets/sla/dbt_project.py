"""The dbt project behind the SLA marts, and how its manifest gets prepared."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

from jelou_assets.settings import PROJECT_ROOT, Settings
from jelou_assets.sla.dbt_env import dbt_env_from_url

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
# The dbt installed beside this interpreter, so an unactivated venv still finds it; dagster-dbt runs the
# launcher (dbt_launcher.py), which answers its `--version` probe without importing dbt.
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")
DBT_LAUNCHER = str(Path(sys.executable).parent / "jelou-dbt")

sla_dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def dbt_cli_resource() -> DbtCliResource:
    """The `dbt` resource of the SLA marts: this project, run through the launcher."""
    return DbtCliResource(project_dir=sla_dbt_project, dbt_executable=DBT_LAUNCHER)


# The models read the build window from these (macros/sla_window.sql). Unlike `--vars`, a changed environment
# variable re-parses only the files that read it, so every run keeps dbt's partial parsing.
WINDOW_ENV = {"min_date": "JELOU_SLA_MIN_DATE", "max_date": "JELOU_SLA_MAX_DATE"}


@contextmanager
def dbt_warehouse_env(warehouse_url: str, window: Mapping[str, str] | None = None) -> Iterator[None]:
    """dbt's profile reads JELOU_DBT_* variables (derived from the one warehouse URL) and the models the build
    window (`min_date`/`max_date`, inclusive local days); set them for this block."""
    values = dbt_env_from_url(warehouse_url)
    values.update({WINDOW_ENV[name]: day for name, day in (window or {}).items()})
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def ensure_manifest(force: bool = False) -> None:
    """Parse the dbt project when its manifest is missing (fresh clone) or when asked (`make install`)."""
    if force or not sla_dbt_project.manifest_path.exists():
        # dagster-dbt's preparer runs `dbt` from PATH.
        os.environ["PATH"] = os.pathsep.join([str(Path(DBT_EXECUTABLE).parent), os.environ.get("PATH", "")])
        with dbt_warehouse_env(Settings.from_env().warehouse_url):
            sla_dbt_project.preparer.prepare(sla_dbt_project)


def retire_target_dir(invocation_target: Path) -> None:
    """Hand a finished invocation's parse on to the next run, then remove its directory.

    dagster-dbt gives every invocation its own target directory, seeded with the project's
    `partial_parse.msgpack`; carrying the newest parse back keeps later runs on partial parsing even when
    the manifest was prepared elsewhere (an image build), and the directories do not pile up.
    """
    parsed = invocation_target / "partial_parse.msgpack"
    if parsed.exists():
        shared = invocation_target.parent / parsed.name  # dagster-dbt's invocation dirs sit in the target path
        incoming = shared.with_name(f"{parsed.name}.{os.getpid()}")
        shutil.copyfile(parsed, incoming)
        os.replace(incoming, shared)  # atomic: a concurrent run reads the old parse or the new, never half
    shutil.rmtree(invocation_target, ignore_errors=True)
