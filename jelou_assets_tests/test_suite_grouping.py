"""The suite's own scheduling: `make test` runs `pytest -n N --dist loadgroup`, and the tests that share one
expensive session-scoped setup (the Dagster UI's run, the crash references, the secrets runs) rely on
pytest-xdist keeping their `xdist_group` on one worker. When it does not, nothing fails: every worker quietly
makes its own copy of those setups and the suite takes minutes longer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

GROUPED_MODULE = """
import os
import pytest

pytestmark = pytest.mark.xdist_group("one_setup")


@pytest.mark.parametrize("n", range(6))
def test_worker(n):
    print(f"ran on {os.environ['PYTEST_XDIST_WORKER']}")
"""


def test_an_xdist_group_runs_on_one_worker(tmp_path: Path):
    (tmp_path / "test_grouped.py").write_text(GROUPED_MODULE, encoding="utf-8")
    # Only pytest-xdist is loaded: the other installed plugins play no part in scheduling and would make each
    # of the three workers start slowly.
    ran = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "xdist", "-n", "3", "--dist", "loadgroup", "-p", "no:cacheprovider",
         "-rA", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )
    assert ran.returncode == 0, ran.stdout[-2000:]
    workers = {line.split("ran on ")[1].strip() for line in ran.stdout.splitlines() if "ran on " in line}
    assert len(workers) == 1, (
        f"the group ran on {sorted(workers)}: this pytest and pytest-xdist do not keep an xdist_group on one "
        "worker; install the versions pyproject.toml allows (make install)"
    )
