"""The client secret never lands anywhere: Dagster's storage and compute logs, the CLI's output, the
warehouse, the run config and event log the UI shows, debug logs of every library, exception messages.
Checked after a successful run and after a run that fails on a wrong secret."""

from __future__ import annotations

import base64
import http.client
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import urllib3.connection
from dagster import AssetKey, DagsterEventType, DagsterInstance, DagsterRunStatus

from jelou_assets.client import JelouAuthError
from jelou_assets.client.jelou_client import authorization_header
from jelou_assets.emulator import JelouEmulator
from jelou_assets_tests.support.project import day_window
from jelou_assets.settings import PROJECT_ROOT
from jelou_assets_tests.support.emulated_api import jelou_for

# Its tests share one session-scoped run; one worker runs them all, so the run happens once (pytest-xdist --dist loadgroup).
pytestmark = [pytest.mark.reliability, pytest.mark.xdist_group("secrets")]

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


@dataclass(frozen=True)
class CliRuns:
    home: Path
    warehouse: Path
    succeeded: subprocess.CompletedProcess
    failed: subprocess.CompletedProcess


@pytest.fixture(scope="session")
def cli_runs(tmp_path_factory: pytest.TempPathFactory) -> CliRuns:
    """One DAGSTER_HOME holding a good run and a wrong-secret run, made by the real CLI, shared by the tests."""
    root = tmp_path_factory.mktemp("secrets")
    home, warehouse = root / "dagster_home", root / "warehouse.duckdb"
    home.mkdir()
    with JelouEmulator(per_day=40, client_secret=GOOD) as emu:
        succeeded = materialize_with(GOOD, emu, home, warehouse)
        failed = materialize_with(WRONG, emu, home, warehouse)
    return CliRuns(home, warehouse, succeeded, failed)


@pytest.fixture
def stored(cli_runs: CliRuns) -> Iterator[DagsterInstance]:
    with DagsterInstance.from_config(str(cli_runs.home)) as instance:
        yield instance


def needles() -> list[str]:
    """Every form a secret could leak in, as text: as typed, Basic base64, and the whole header values."""
    found = [form.decode() for secret in (GOOD, WRONG) for form in forms(secret)]
    return found + [authorization_header("demo", secret, scheme) for secret in (GOOD, WRONG) for scheme in ("basic", "raw")]


def leaked(text: str) -> list[str]:
    return [needle for needle in needles() if needle in text]


def test_secret_appears_in_no_log_storage_output_or_table(cli_runs: CliRuns) -> None:
    home, warehouse, succeeded, failed = cli_runs.home, cli_runs.warehouse, cli_runs.succeeded, cli_runs.failed
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


def test_run_config_and_tags_the_ui_shows_hold_no_secret(stored: DagsterInstance) -> None:
    runs = stored.get_runs()
    assert sorted(run.status.value for run in runs) == sorted([DagsterRunStatus.SUCCESS.value, DagsterRunStatus.FAILURE.value])
    for run in runs:
        shown = stored.get_run_by_id(run.run_id)
        assert shown is not None
        assert not leaked(json.dumps([shown.run_config, shown.tags], default=str)), run.run_id


def test_materialization_metadata_holds_no_secret(stored: DagsterInstance) -> None:
    metadata = [
        record.asset_materialization.metadata
        for key in (AssetKey("raw_conversations"), AssetKey("conversation_facts"))
        for record in stored.fetch_materializations(key, limit=100).records
    ]
    assert len(metadata) == 2 and metadata[0], "the good run materializes both assets, with metadata"
    assert not leaked(repr([{key: repr(value) for key, value in entry.items()} for entry in metadata]))


def test_event_log_messages_and_errors_hold_no_secret(stored: DagsterInstance) -> None:
    texts: list[str] = []
    for run in stored.get_runs():
        for entry in stored.all_logs(run.run_id):
            texts += [entry.user_message, entry.message]
            event = entry.dagster_event
            if event is not None and event.event_type == DagsterEventType.STEP_FAILURE:
                texts.append(event.step_failure_data.error.to_string())
    # The wrong-secret run's failure is really in what was read, with its fix and without the secret.
    assert any("JELOU_CLIENT_SECRET" in text for text in texts)
    assert not [needle for text in texts for needle in leaked(text or "")]


@pytest.fixture
def everything_at_debug(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every logger at DEBUG, the libraries' own included, as someone chasing a bug would set them."""
    # The project offers no debug switch of its own (nothing in jelou_assets sets a level or debuglevel).
    named = ["", "urllib3", "urllib3.connectionpool", "urllib3.util.retry", "requests", "jelou_assets",
             "jelou_assets.client.jelou_client", "jelou_assets.client.page_walker"]
    for name in sorted({*named, *logging.root.manager.loggerDict}):
        caplog.set_level(logging.DEBUG, logger=name)
    yield caplog


def test_debug_logs_of_every_library_never_show_the_authorization_header(
    everything_at_debug: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    day = date(2025, 3, 1)
    with JelouEmulator(per_day=60, client_secret=GOOD) as emu:
        # Good walk with a retried 500 and a retried 429 on the way, then a wrong secret.
        emu.config.fault_plan = {2: "500", 3: "429"}
        client = jelou_for(emu, client_secret=GOOD, page_size=25, max_pages_in_flight=1).get_client()
        try:
            result = client.fetch_window(*day_window(day, "America/Guayaquil"))
        finally:
            client.close()
        assert result.api_total == 60 and result.retries == 2
        wrong = jelou_for(emu, client_secret=WRONG).get_client()
        try:
            with pytest.raises(JelouAuthError):
                wrong.fetch_window(*day_window(day, "America/Guayaquil"))
        finally:
            wrong.close()
    out, err = capfd.readouterr()
    logs = everything_at_debug.text + "\n".join(record.getMessage() for record in everything_at_debug.records)
    # urllib3's debug lines (requests and retries) were really captured, so a header in them would show.
    assert "/v1/metrics/conversations/attended/external" in logs and "Retry" in logs
    assert not leaked(logs) and not leaked(out) and not leaked(err)


def test_the_client_never_turns_on_http_client_header_printing(emulator: JelouEmulator) -> None:
    # http.client prints every request header to stdout at debuglevel > 0; nothing of ours may set it.
    client = jelou_for(emulator).get_client()
    try:
        client.fetch_window(*day_window(date(2025, 3, 1), "America/Guayaquil"))
        pooled = [conn for pool in client.session.get_adapter(client.url).poolmanager.pools._container.values()
                  for conn in list(pool.pool.queue) if conn is not None]
    finally:
        client.close()
    assert http.client.HTTPConnection.debuglevel == 0 and urllib3.connection.HTTPConnection.debuglevel == 0
    assert pooled and all(conn.debuglevel == 0 for conn in pooled)


@pytest.mark.parametrize("scheme", ["basic", "raw"])
def test_wrong_secret_error_names_the_setting_but_holds_neither_form_of_the_secret(scheme: str) -> None:
    # test_jelou_client checks the secret as typed; here its header forms, and everything the error carries.
    with JelouEmulator(per_day=5, client_secret=GOOD) as emu:
        with pytest.raises(JelouAuthError) as raised:
            jelou_for(emu, client_secret=WRONG, auth_scheme=scheme).get_client().fetch_window(
                *day_window(date(2025, 3, 1), "America/Guayaquil")
            )
    error = raised.value
    carried = " ".join([str(error), repr(error), *map(str, error.args), repr(error.__cause__), repr(error.__context__)])
    assert "JELOU_CLIENT_SECRET" in str(error)
    assert not leaked(carried)
