"""The client secret never lands anywhere: Dagster's storage and compute logs, the CLI's output, the
warehouse. Checked byte for byte after a successful run and after a run that fails on a wrong secret."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

from jelou_assets.emulator import JelouEmulator
from jelou_assets.settings import PROJECT_ROOT

GOOD, WRONG = "canary-Zq8vW3-good-secret", "canary-Hk2pX9-wrong-secret"


def forms(secret: str) -> list[bytes]:
    """The secret as typed, and as it travels in a Basic Authorization header."""
    return [secret.encode(), base64.b64encode(f"demo:{secret}".encode())]


def materialize_with(secret: str, emu: JelouEmulator, home: Path, warehouse: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "JELOU_BASE_URL": emu.url,
        "JELOU_CLIENT_ID": "demo",
        "JELOU_CLIENT_SECRET": secret,
        "JELOU_WAREHOUSE_URL": f"duckdb:///{warehouse}",
    }
    command = [str(Path(sys.executable).parent / "dagster"), "asset", "materialize", "-m", "jelou_assets.definitions",
               "--select", "raw_conversations,conversation_facts", "--partition", "2025-03-01"]
    return subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, timeout=600)


def test_secret_appears_in_no_log_storage_output_or_table(tmp_path):
    home, warehouse = tmp_path / "dagster_home", tmp_path / "warehouse.duckdb"
    home.mkdir()
    with JelouEmulator(per_day=40, client_secret=GOOD) as emu:
        succeeded = materialize_with(GOOD, emu, home, warehouse)
        failed = materialize_with(WRONG, emu, home, warehouse)
    assert succeeded.returncode == 0, succeeded.stderr[-2000:]
    assert failed.returncode != 0 and b"JELOU_CLIENT_SECRET" in failed.stderr + failed.stdout

    outputs = [succeeded.stdout, succeeded.stderr, failed.stdout, failed.stderr]
    stored = [path for path in [*home.rglob("*"), warehouse] if path.is_file()]
    # The files read really hold the runs' logs, so a leaked secret would be found there.
    assert any(b"2025-03-01 (1/1): 40 conversations" in p.read_bytes() for p in stored)
    for secret in (GOOD, WRONG):
        for needle in forms(secret):
            assert not any(needle in output for output in outputs), f"{needle!r} in CLI output"
            leaks = [str(p) for p in stored if needle in p.read_bytes()]
            assert not leaks, f"{needle!r} found in {leaks}"
