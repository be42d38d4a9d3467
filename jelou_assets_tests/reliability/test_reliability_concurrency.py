"""Two writers of the same partition at once, on DuckDB and PostgreSQL: exactly one copy of the rows
survives, nothing is lost, nobody deadlocks, and a writer that cannot get in says why and what to do.

The writer-level tests are deterministic and in-process; the CLI tests run two real
`dagster asset materialize` processes against one emulator and one warehouse, as production would.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pytest
import sqlalchemy as sa
from dagster import materialize

from jelou_assets.emulator import JelouEmulator
from jelou_assets.defs.ingestion.raw_conversations import RAW_SCHEMA
from jelou_assets_tests.support.project import conversation_facts, day_window, raw_conversations
from jelou_assets.settings import PROJECT_ROOT
from jelou_assets.warehouse import tables
from jelou_assets.warehouse.resource import WarehouseResource
from jelou_assets_tests.support.dbt_marts import Warehouse
from jelou_assets_tests.support.emulated_api import jelou_for
from jelou_assets_tests.support.postgres import reset_schema

pytestmark = pytest.mark.reliability

DAY = date(2025, 3, 1)
# Two runs tell themselves apart in the emulator's log by the page size they ask for.
PAGE_SIZES = (50, 40)
DEADLOCK_AFTER_S = 600


def raw_table(ids: list[str], day: date = DAY) -> pa.Table:
    return pa.table(
        {
            "partition_date": [day] * len(ids),
            "conversation_id": ids,
            "payload": ['{"_id": "%s"}' % i for i in ids],
            "fetched_at": [datetime(2025, 3, 2)] * len(ids),
        },
        schema=RAW_SCHEMA,
    )


def day_counts(warehouse: WarehouseResource, table: str, day: date = DAY) -> tuple[int, int]:
    """(rows, distinct conversation ids) stored for the day."""
    frame = warehouse.read_frame(
        sa.text(f"SELECT count(*) AS n, count(DISTINCT conversation_id) AS d FROM jelou.{table} WHERE partition_date = :day"),
        {"day": day},
    )
    return int(frame["n"][0]), int(frame["d"][0])


def replace_from_threads(warehouse: WarehouseResource, payloads: list[pa.Table], before_start=None) -> list[BaseException]:
    """Every payload written for DAY by its own thread, all released at once; returns what they raised."""
    barrier = threading.Barrier(len(payloads))
    errors: list[BaseException] = []

    def write(rows: pa.Table) -> None:
        barrier.wait()
        try:
            warehouse.replace_partitions([DAY], {tables.raw_conversations: rows})
        except BaseException as error:  # noqa: BLE001 - reported to the test, not swallowed
            errors.append(error)

    threads = [threading.Thread(target=write, args=(rows,)) for rows in payloads]
    for thread in threads:
        thread.start()
    if before_start is not None:
        before_start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a writer never finished: deadlock"
    return errors


def test_two_threads_replacing_the_same_day_leave_exactly_one_copy(warehouse):
    # Large enough that the two transactions overlap; before the fix this stored 40,000 rows on both engines.
    ids = [f"c{i:05d}" for i in range(20_000)]
    for _ in range(3):
        assert replace_from_threads(warehouse, [raw_table(ids), raw_table(ids)]) == []
        assert day_counts(warehouse, "raw_conversations") == (20_000, 20_000)


@pytest.mark.postgres
def test_postgres_writer_queued_behind_another_removes_that_writers_rows(postgres_server_url):
    """Deterministic form of the READ COMMITTED race: both writers are made to wait on the day's rows
    at the same moment, then released; the second must still delete what the first inserted."""
    reset_schema(postgres_server_url)
    warehouse = WarehouseResource(url=postgres_server_url)
    warehouse.ensure_tables()
    warehouse.replace_partitions([DAY], {tables.raw_conversations: raw_table([f"old{i}" for i in range(100)])})
    holder_engine = sa.create_engine(postgres_server_url, poolclass=sa.pool.NullPool)
    holder = holder_engine.connect()
    holder.execute(sa.text("SELECT 1 FROM jelou.raw_conversations WHERE partition_date = :day FOR UPDATE"), {"day": DAY})

    def release_once_both_wait() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with holder_engine.connect() as probe:
                waiting = probe.execute(sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )).scalar_one()
            if waiting == 2:
                break
            time.sleep(0.05)
        assert waiting == 2, "the two writers never queued up together"
        holder.commit()

    try:
        errors = replace_from_threads(
            warehouse, [raw_table([f"a{i}" for i in range(200)]), raw_table([f"b{i}" for i in range(200)])],
            before_start=release_once_both_wait,
        )
    finally:
        holder.close()
        holder_engine.dispose()
    assert errors == []
    stored = warehouse.read_frame(sa.text("SELECT conversation_id FROM jelou.raw_conversations"))["conversation_id"]
    # One writer's rows entirely, never both, never the old ones.
    assert {s[0] for s in stored} in ({"a"}, {"b"}) and len(stored) == 200


def test_concurrent_first_runs_create_the_tables_without_error(warehouse_url):
    # Before the fix, 4 concurrent setups on a fresh PostgreSQL schema failed with
    # UniqueViolation on pg_namespace_nspname_index in 10 rounds out of 10.
    for _ in range(3):
        if warehouse_url.startswith("postgresql"):
            reset_schema(warehouse_url)
        barrier = threading.Barrier(4)
        errors: list[BaseException] = []

        def setup() -> None:
            barrier.wait()
            try:
                WarehouseResource(url=warehouse_url).ensure_tables()
            except BaseException as error:  # noqa: BLE001
                errors.append(error)

        threads = [threading.Thread(target=setup) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
    assert day_counts(WarehouseResource(url=warehouse_url), "raw_conversations") == (0, 0)


HOLD_FILE = """
import sys, time, duckdb
connection = duckdb.connect(sys.argv[1])
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
connection.close()
"""


def hold_duckdb_file(path: Path, seconds: float) -> subprocess.Popen:
    """Another process (a concurrent run, dbt, a notebook) holding the DuckDB file's write lock."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD_FILE, str(path), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "holding"
    return holder


def test_duckdb_writer_waits_for_another_process_holding_the_file(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    warehouse = WarehouseResource(url=f"duckdb:///{path}")
    warehouse.ensure_tables()
    holder = hold_duckdb_file(path, 3.0)
    began = time.monotonic()
    warehouse.replace_partitions([DAY], {tables.raw_conversations: raw_table(["c1", "c2"])})
    waited = time.monotonic() - began
    holder.wait(timeout=30)
    assert 2.0 < waited < 10.0
    assert day_counts(warehouse, "raw_conversations") == (2, 2)


def test_duckdb_writer_locked_out_past_its_timeout_fails_naming_the_lock_and_the_fix(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    WarehouseResource(url=f"duckdb:///{path}").ensure_tables()
    holder = hold_duckdb_file(path, 10.0)
    try:
        with pytest.raises(RuntimeError) as raised:
            WarehouseResource(url=f"duckdb:///{path}", lock_timeout_s=1.0).replace_partitions(
                [DAY], {tables.raw_conversations: raw_table(["c1"])}
            )
    finally:
        holder.kill()
        holder.wait()
    message = str(raised.value)
    assert "locked by another process" in message and "lock_timeout_s=1s" in message
    assert "dagster instance concurrency set jelou_warehouse 1" in message and "PostgreSQL" in message


def dagster_home(tmp_path: Path) -> Path:
    """A shared, already initialised DAGSTER_HOME, as a deployment has. Two processes creating Dagster's
    own SQLite run storage at the same moment fail in its alembic check, which is not what is tested here."""
    from dagster import DagsterInstance

    home = tmp_path / "dagster_home"
    home.mkdir()
    with DagsterInstance.from_config(str(home)) as instance:
        instance.get_runs(limit=1)
    return home


def cli_run(emu: JelouEmulator, warehouse_url: str, home: Path, page_size: int, partition: list[str]) -> subprocess.Popen:
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "JELOU_BASE_URL": emu.url,
        "JELOU_CLIENT_ID": emu.config.client_id,
        "JELOU_CLIENT_SECRET": emu.config.client_secret,
        "JELOU_WAREHOUSE_URL": warehouse_url,
        "JELOU_PAGE_SIZE": str(page_size),
        # Slow enough that each walk outlasts the jitter between the two processes' start-up.
        "JELOU_REQUESTS_PER_SECOND": "2",
    }
    command = [str(Path(sys.executable).parent / "dagster"), "asset", "materialize", "-m", "jelou_assets.definitions",
               "--select", "raw_conversations,conversation_facts", *partition]
    return subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def request_span(emu: JelouEmulator, page_size: int) -> tuple[float, float, int]:
    times = [r["at"] for r in emu.requests if r["query"].get("limit") == str(page_size)]
    return min(times), max(times), len(times)


def report_overlap(label: str, results: list[tuple[int, str, float]], spans: list[tuple[float, float, int]]) -> None:
    """Printed for docs/RELIABILITY.md (pytest -s): wall times, requests and time spent storing."""
    for (code, output, seconds), (first, last, requests) in zip(results, spans):
        stored = [float(m) for m in re.findall(r"stored in ([0-9.]+)s", output)]
        print(f"\n{label}: exit {code}, wall {seconds:.1f}s, {requests} requests over {last - first:.1f}s, "
              f"stored in {stored}s")
    print(f"{label}: walks overlapped for {min(s[1] for s in spans) - max(s[0] for s in spans):.1f}s")


def assert_days_hold_the_ground_truth_once(emu: JelouEmulator, warehouse: WarehouseResource, days: list[date]) -> None:
    for day in days:
        truth = sorted(r["_id"] for r in emu.dataset.conversations_between(*day_window(day)))
        raw = warehouse.read_frame(
            sa.text("SELECT conversation_id FROM jelou.raw_conversations WHERE partition_date = :day ORDER BY 1"), {"day": day}
        )
        assert list(raw["conversation_id"]) == truth, f"{day}: raw rows differ from the API's"
        assert day_counts(warehouse, "conversation_facts", day) == (len(truth), len(truth))
        loads = warehouse.read_frame(sa.text("SELECT * FROM jelou.raw_partition_loads WHERE partition_date = :day"), {"day": day})
        assert len(loads) == 1 and int(loads["stored_rows"][0]) == len(truth)


def run_overlapping(emu, warehouse_url, home, partitions: tuple[list[str], list[str]]) -> list[tuple[int, str, float]]:
    """Starts both runs together; returns (exit code, output, seconds) per run."""
    began = time.monotonic()
    runs = [cli_run(emu, warehouse_url, home, size, partition) for size, partition in zip(PAGE_SIZES, partitions)]
    results = []
    try:
        for run in runs:
            # Generous: on 2 shared cores each run spends minutes just spawning its step processes.
            stdout, stderr = run.communicate(timeout=DEADLOCK_AFTER_S)
            results.append((run.returncode, stdout + stderr, time.monotonic() - began))
    except subprocess.TimeoutExpired:
        for run in runs:
            run.kill()
            run.wait()
        pytest.fail(f"the two runs had not finished after {DEADLOCK_AFTER_S}s: deadlock or endless lock wait")
    return results


@pytest.mark.slow
def test_two_cli_runs_of_the_same_partition_at_once_store_it_exactly_once(warehouse_url, tmp_path):
    home = dagster_home(tmp_path)
    with JelouEmulator(per_day=300, seed=5, latency_ms=150) as emu:
        results = run_overlapping(emu, warehouse_url, home, (["--partition", "2025-03-01"], ["--partition", "2025-03-01"]))
        for code, output, _ in results:
            assert code == 0, output[-3000:]
            assert "2025-03-01 (1/1): 300 conversations" in output
        spans = [request_span(emu, size) for size in PAGE_SIZES]
        report_overlap("same partition", results, spans)
        # The two runs really read the API at the same time.
        assert max(span[0] for span in spans) < min(span[1] for span in spans), spans
        assert_days_hold_the_ground_truth_once(emu, WarehouseResource(url=warehouse_url), [DAY])


@pytest.mark.slow
def test_a_range_run_overlapping_a_single_day_run_stores_every_day_once(warehouse_url, tmp_path):
    home = dagster_home(tmp_path)
    days = [date(2025, 3, d) for d in (1, 2, 3)]
    with JelouEmulator(per_day=200, seed=5, latency_ms=100) as emu:
        results = run_overlapping(
            emu, warehouse_url, home, (["--partition-range", "2025-03-01...2025-03-03"], ["--partition", "2025-03-02"])
        )
        for code, output, _ in results:
            assert code == 0, output[-3000:]
        spans = [request_span(emu, size) for size in PAGE_SIZES]
        report_overlap("range vs day", results, spans)
        assert max(span[0] for span in spans) < min(span[1] for span in spans), spans
        assert_days_hold_the_ground_truth_once(emu, WarehouseResource(url=warehouse_url), days)


def dbt_run(warehouse_url: str, target: Path, *args: str) -> subprocess.Popen:
    from jelou_assets.sla.dbt_env import dbt_env_from_url
    from jelou_assets.sla.dbt_project import DBT_EXECUTABLE, DBT_PROJECT_DIR

    # Own target path per invocation, as dagster-dbt does, so the two runs do not share artifacts.
    command = [DBT_EXECUTABLE, *args, "--profiles-dir", ".", "--target-path", str(target)]
    return subprocess.Popen(command, cwd=DBT_PROJECT_DIR, env={**os.environ, **dbt_env_from_url(warehouse_url)},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.slow
@pytest.mark.postgres
def test_two_dbt_builds_of_a_window_without_mart_rows_store_each_row_once(postgres_server_url, tmp_path):
    """With no mart rows in the window, the pre-hook DELETEs lock nothing; before the advisory lock in
    macros/sla_lock.sql both builds inserted and team_sla_daily held 30 rows for 15 keys."""
    reset_schema(postgres_server_url)
    warehouse = WarehouseResource(url=postgres_server_url)
    window = {"min_date": "2025-03-01", "max_date": "2025-03-03"}
    with JelouEmulator(per_day=100, seed=5) as emu:
        assert materialize([raw_conversations, conversation_facts], resources={"jelou": jelou_for(emu), "warehouse": warehouse},
                           tags={"dagster/asset_partition_range_start": window["min_date"],
                                 "dagster/asset_partition_range_end": window["max_date"]}).success
    # The setup runs dbt in this process (no interpreter start); the two builds under test are processes of their own.
    setup = Warehouse(postgres_server_url, tmp_path / "setup")
    setup.dbt("seed")
    setup.dbt("run", "--select", "+team_sla_daily", window=window)
    engine = sa.create_engine(postgres_server_url, poolclass=sa.pool.NullPool)
    holder = engine.connect()
    holder.execute(sa.text("DELETE FROM jelou.team_sla_daily"))
    holder.commit()
    # Both builds pause after their (empty) window delete, reading conversation_sla, until the holder lets go.
    holder.execute(sa.text("LOCK TABLE jelou.conversation_sla IN ACCESS EXCLUSIVE MODE"))
    runs = [dbt_run(postgres_server_url, tmp_path / f"run{i}", "run", "--select", "team_sla_daily",
                    "--vars", json.dumps(window)) for i in range(2)]
    try:
        deadline, waiting = time.monotonic() + 240, 0
        while time.monotonic() < deadline and waiting < 2:
            with engine.connect() as probe:
                waiting = probe.execute(sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )).scalar_one()
            time.sleep(0.1)
        assert waiting == 2, "the two dbt builds never queued up together"
    finally:
        holder.commit()
        holder.close()
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [output[-2000:] for output in outputs]
    # A column named "keys" would make pandas take each row for a mapping.
    counts = warehouse.read_frame(sa.text(
        "SELECT count(*) AS n, count(DISTINCT (partition_date, team_name)) AS distinct_keys FROM jelou.team_sla_daily"))
    engine.dispose()
    assert int(counts["n"][0]) == int(counts["distinct_keys"][0]) == 15
