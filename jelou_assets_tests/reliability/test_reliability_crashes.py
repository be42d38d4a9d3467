"""Crash recovery: SIGKILL the whole run (run process, step subprocesses, dbt) while it writes
raw_conversations, conversation_facts or the dbt marts. Right after the kill every stored day of every table is
wholly its previous version or wholly the new one; a plain re-run then leaves every table equal, row for row, to
an undisturbed run's.

Each warehouse starts as a copy of the undisturbed run's with every partitioned row marked as "previous", so the
state after the kill shows, day by day, whether a write was rolled back or committed, never half of one. The kill
moment comes from real signals: the run's event log, the warehouse file held open in the process group (/proc),
dbt's own log, PostgreSQL's pg_locks.
"""

from __future__ import annotations

import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from jelou_assets.emulator import JelouEmulator
from jelou_assets_tests.support.crash_helpers import (
    DbtLog,
    Run,
    Snapshot,
    command_lines,
    day_states,
    event_messages,
    holders_of,
    kill_group,
    mark_previous,
    pipeline_env,
    run_to_completion,
    snapshot,
    start_run,
    table_names,
    wait_for,
    wait_for_step,
)

# Each engine's tests share one undisturbed reference run (session-scoped: other modules' tests run between them on a
# worker), so they stay on one worker (pytest-xdist --dist loadgroup).
pytestmark = [pytest.mark.reliability, pytest.mark.slow]
ON_DUCKDB_WORKER = pytest.mark.xdist_group("crashes_duckdb")
ON_POSTGRES_WORKER = pytest.mark.xdist_group("crashes_postgres")

FIRST, LAST = date(2025, 3, 1), date(2025, 3, 3)
DAYS = [FIRST, date(2025, 3, 2), LAST]
# Large days make each day's write last long enough (a few hundred ms) to be caught from the outside.
PER_DAY = 5000
POSTGRES_URL = os.environ.get("JELOU_TEST_POSTGRES_URL")


@dataclass
class Reference:
    engine: str
    url: str
    tables: Snapshot
    seconds: float


@dataclass
class Crash:
    """Where the kill landed and what the warehouse held right after it."""

    landed: str
    states: dict[str, dict[date, str]]
    wal_after_kill: bool


@pytest.fixture(scope="session")
def emulator() -> Iterator[JelouEmulator]:
    with JelouEmulator(per_day=PER_DAY, seed=23, max_limit=1000) as emu:
        yield emu


def _admin() -> sa.Engine:
    return sa.create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")


def _postgres_database(template: str | None = None) -> str:
    name = f"jelou_crash_{uuid.uuid4().hex[:10]}"
    admin = _admin()
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    admin.dispose()
    return sa.make_url(POSTGRES_URL).set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)


def _drop_postgres_database(url: str) -> None:
    admin = _admin()
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{sa.make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def _undisturbed(emulator: JelouEmulator, engine: str, url: str, workdir: Path) -> Reference:
    home = workdir / "dagster_home"
    home.mkdir(parents=True)
    seconds = run_to_completion(pipeline_env(emulator.url, url, home), FIRST, LAST, workdir / "run.log")
    return Reference(engine, url, snapshot(url), seconds)


@pytest.fixture(scope="session")
def duckdb_reference(emulator: JelouEmulator, tmp_path_factory: pytest.TempPathFactory) -> Reference:
    workdir = tmp_path_factory.mktemp("duckdb_reference")
    return _undisturbed(emulator, "duckdb", f"duckdb:///{workdir / 'warehouse.duckdb'}", workdir)


@pytest.fixture(scope="session")
def postgres_reference(emulator: JelouEmulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reference]:
    if not POSTGRES_URL:
        pytest.skip("JELOU_TEST_POSTGRES_URL is not set")
    url = _postgres_database()
    try:
        yield _undisturbed(emulator, "postgres", url, tmp_path_factory.mktemp("postgres_reference"))
    finally:
        _drop_postgres_database(url)


def _previous_state(reference: Reference, tmp_path: Path) -> Iterator[str]:
    """A warehouse holding an older version of every day: the reference's rows, marked."""
    if reference.engine == "duckdb":
        path = tmp_path / "warehouse.duckdb"
        shutil.copy(sa.make_url(reference.url).database, path)
        url = f"duckdb:///{path}"
        mark_previous(url)
        yield url
    else:
        url = _postgres_database(template=sa.make_url(reference.url).database)
        mark_previous(url)
        try:
            yield url
        finally:
            _drop_postgres_database(url)


def _duckdb_file(url: str) -> Path:
    return Path(sa.make_url(url).database)


def _wal(url: str) -> Path:
    return Path(f"{_duckdb_file(url)}.wal")


def _day_done(run: Run, step: str, number: int) -> bool:
    return any(f"({number}/{len(DAYS)}):" in message for message in event_messages(run.home, step))


def _days_done(run: Run, step: str) -> int:
    """How many of the run's days `step` has logged as stored (it logs each right after its commit)."""
    messages = event_messages(run.home, step)
    return sum(any(f"({number}/{len(DAYS)}):" in message for message in messages) for number in range(1, len(DAYS) + 1))


def kill_during_duckdb_write(step: str) -> Callable[[Run, str], str]:
    """Kill while `step` holds the DuckDB file after day 1 was logged as stored, before any later day's commit
    reached the WAL: the kill lands in a later day's work (at worst just after its commit). Raw opens the file
    for each day's write; facts keeps one connection across its days, so after day 1's commit the WAL holds
    that day until the connection closes: a later commit shows as the WAL growing past its size when day 1 was
    logged. A poller starved on a loaded machine may miss a day's whole write; it then kills during a later
    day's, and the message says which day was in flight (see `in_flight`)."""

    def kill(run: Run, url: str) -> str:
        path, wal = _duckdb_file(url), _wal(url)
        wal_after_day_1: int | None = None

        def wal_size() -> int:
            try:
                return wal.stat().st_size
            except FileNotFoundError:
                return 0

        def writing_a_later_day() -> tuple[list[int], int] | None:
            nonlocal wal_after_day_1
            if wal_after_day_1 is None:
                if not _day_done(run, step, 1):
                    return None
                wal_after_day_1 = wal_size()
            held = holders_of(path, run.pgid)
            if held and wal_size() <= wal_after_day_1:
                done = _days_done(run, step)
                return (held, done) if done < len(DAYS) else None
            return None

        wait_for_step(run, step)
        holders, done = wait_for(writing_a_later_day, run, f"{step} writing a day after the first of {len(DAYS)}")
        kill_group(run)
        return (f"{step}: pid {holders[0]} had {path.name} open after day 1 of {len(DAYS)} was logged, with "
                f"day {done + 1} in flight and no later commit in the WAL; {time.monotonic() - run.started:.1f}s into the run")

    return kill


def in_flight(outcome: Crash) -> int:
    """The index in DAYS of the day a DuckDB write kill landed in (from its message)."""
    return int(re.search(r"with day (\d+) in flight", outcome.landed).group(1)) - 1


def assert_days_around_the_kill(states: dict[date, str], day: int) -> None:
    """Days stored before the kill are new, the day in flight wholly one or the other, later days untouched."""
    assert all(states[d] == "new" for d in DAYS[:day]), states
    assert states[DAYS[day]] in {"previous", "new"}, states
    assert all(states[d] == "previous" for d in DAYS[day + 1:]), states


def kill_during_dbt_marts(run: Run, url: str) -> str:
    """Kill once dbt has finished one mart and started the other (dbt runs one model at a time here)."""
    log = DbtLog(run.home)
    marts: list[str] = []

    def second_mart_started() -> bool:
        for line in log.new_lines():
            for mart in ("operator_sla_daily", "team_sla_daily"):
                if f'"node_name": "{mart}"' in line and f"model.jelou_sla.{mart}" in line and mart not in marts:
                    marts.append(mart)
        return len(marts) == 2 and any("dbt build" in command for command in command_lines(run.pgid))

    # Polled gently until dbt is running: the fast polls start with its log.
    wait_for(log.started, run, "dbt's log of this run", interval_s=0.1)
    wait_for(second_mart_started, run, "dbt building the second mart", interval_s=0.005)
    kill_group(run)
    return (f"sla_marts: dbt subprocess alive; dbt log shows {marts[0]} built and {marts[1]} started; "
            f"{time.monotonic() - run.started:.1f}s into the run")


def kill_during_postgres_copy(run: Run, url: str) -> str:
    """Kill while another backend holds a write lock on jelou.raw_conversations inside an open transaction, for
    day 2 (day 1 is logged as done): the DELETE + COPY of that day is in flight."""
    dsn = sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as watcher:
        query = """
            SELECT a.pid, a.state, coalesce(a.wait_event, ''), left(a.query, 60)
            FROM pg_locks l JOIN pg_stat_activity a USING (pid)
            WHERE l.relation = to_regclass('jelou.raw_conversations') AND l.mode = 'RowExclusiveLock'
              AND a.pid <> pg_backend_pid() AND a.xact_start IS NOT NULL"""

        def copy_in_flight() -> tuple | None:
            found = watcher.execute(query).fetchone()
            return found if found and _day_done(run, "raw_conversations", 1) else None

        wait_for_step(run, "raw_conversations")
        pid, state, wait_event, statement = wait_for(copy_in_flight, run, "the raw COPY of day 2", interval_s=0.005)
        kill_group(run)
        # The server notices the dead client and rolls back; nothing may stay locked for the re-run.
        deadline = time.monotonic() + 30
        while watcher.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone():
            assert time.monotonic() < deadline, f"backend {pid} outlived its killed client"
            time.sleep(0.05)
    return (f"raw_conversations: backend {pid} in an open transaction ({state}, wait {wait_event or 'none'}) "
            f"running {statement!r} after day 1 of {len(DAYS)} was logged; "
            f"{time.monotonic() - run.started:.1f}s into the run")


def crash(emulator: JelouEmulator, url: str, tmp_path: Path, kill: Callable[[Run, str], str],
          reference: Reference) -> tuple[Crash, Path]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    run = start_run(pipeline_env(emulator.url, url, home), FIRST, LAST, tmp_path / "killed_run.log")
    try:
        landed = kill(run, url)
    finally:
        if run.process.poll() is None:
            kill_group(run)
    wal = url.startswith("duckdb") and _wal(url).exists()
    # Reading the tables reopens the file, replaying any WAL the killed process left behind.
    states = day_states(snapshot(url), reference.tables, url)
    return Crash(landed, states, wal), home




def report(record_property: Callable[[str, object], None], outcome: Crash, rerun_seconds: float) -> None:
    # Each table's days in order, e.g. raw_conversations: new/previous/previous.
    summary = {table: "/".join(days[day] for day in sorted(days)) for table, days in outcome.states.items()}
    record_property("landed", outcome.landed)
    record_property("states_after_kill", summary)
    record_property("wal_after_kill", outcome.wal_after_kill)
    record_property("rerun_seconds", round(rerun_seconds, 1))
    print(f"\nkill landed: {outcome.landed}\nWAL left behind: {outcome.wal_after_kill}\nstates after kill: {summary}"
          f"\nre-run: {rerun_seconds:.1f}s")


def assert_whole_days(outcome: Crash) -> None:
    mixed = {table: {day: state for day, state in days.items() if state.startswith("MIXED")}
             for table, days in outcome.states.items()}
    assert not any(mixed.values()), f"half-written days after the kill: {mixed}"
    # A day's raw rows and its load record are one transaction.
    assert outcome.states["raw_conversations"] == outcome.states["raw_partition_loads"]


def assert_rerun_matches_undisturbed(emulator: JelouEmulator, url: str, home: Path, tmp_path: Path,
                                     reference: Reference, outcome: Crash,
                                     record_property: Callable[[str, object], None]) -> None:
    """A plain re-run of the killed run's range (same instance) leaves every table as an undisturbed run's."""
    seconds = run_to_completion(pipeline_env(emulator.url, url, home), FIRST, LAST, tmp_path / "rerun.log")
    report(record_property, outcome, seconds)
    after = snapshot(url)
    for table, rows in reference.tables.items():
        assert len(after[table]) == len(rows), f"{table}: {len(after[table])} rows, undisturbed run has {len(rows)}"
        assert after[table] == rows, f"{table} differs from the undisturbed run"
    assert table_names(url) == table_names(reference.url), "the crash left extra relations behind"


@pytest.fixture
def duckdb_previous(duckdb_reference: Reference, tmp_path: Path) -> Iterator[str]:
    yield from _previous_state(duckdb_reference, tmp_path)


@pytest.fixture
def postgres_previous(postgres_reference: Reference, tmp_path: Path) -> Iterator[str]:
    yield from _previous_state(postgres_reference, tmp_path)


@ON_DUCKDB_WORKER
def test_duckdb_killed_during_raw_write_keeps_whole_days_and_rerun_matches_undisturbed_run(
    emulator: JelouEmulator, duckdb_reference: Reference, duckdb_previous: str, tmp_path: Path,
    record_property: Callable[[str, object], None],
) -> None:
    outcome, home = crash(emulator, duckdb_previous, tmp_path, kill_during_duckdb_write("raw_conversations"), duckdb_reference)
    assert_whole_days(outcome)
    assert_days_around_the_kill(outcome.states["raw_conversations"], in_flight(outcome))
    assert all(state == "previous" for table in ("conversation_facts", "team_sla_daily", "operator_sla_daily")
               for state in outcome.states[table].values())
    assert_rerun_matches_undisturbed(emulator, duckdb_previous, home, tmp_path, duckdb_reference, outcome, record_property)


@ON_DUCKDB_WORKER
def test_duckdb_killed_during_facts_keeps_whole_days_and_rerun_matches_undisturbed_run(
    emulator: JelouEmulator, duckdb_reference: Reference, duckdb_previous: str, tmp_path: Path,
    record_property: Callable[[str, object], None],
) -> None:
    outcome, home = crash(emulator, duckdb_previous, tmp_path, kill_during_duckdb_write("conversation_facts"), duckdb_reference)
    assert_whole_days(outcome)
    assert set(outcome.states["raw_conversations"].values()) == {"new"}
    assert_days_around_the_kill(outcome.states["conversation_facts"], in_flight(outcome))
    assert_rerun_matches_undisturbed(emulator, duckdb_previous, home, tmp_path, duckdb_reference, outcome, record_property)


@ON_DUCKDB_WORKER
def test_duckdb_killed_during_dbt_keeps_whole_mart_days_and_rerun_matches_undisturbed_run(
    emulator: JelouEmulator, duckdb_reference: Reference, duckdb_previous: str, tmp_path: Path,
    record_property: Callable[[str, object], None],
) -> None:
    outcome, home = crash(emulator, duckdb_previous, tmp_path, kill_during_dbt_marts, duckdb_reference)
    assert_whole_days(outcome)
    assert set(outcome.states["conversation_facts"].values()) == {"new"}
    for mart in ("team_sla_daily", "operator_sla_daily"):
        # One dbt model is one transaction over the whole window: all its days move together.
        assert len(set(outcome.states[mart].values())) == 1, outcome.states[mart]
    assert_rerun_matches_undisturbed(emulator, duckdb_previous, home, tmp_path, duckdb_reference, outcome, record_property)


@pytest.mark.postgres
@ON_POSTGRES_WORKER
def test_postgres_killed_during_raw_copy_rolls_back_the_day_and_rerun_matches_undisturbed_run(
    emulator: JelouEmulator, postgres_reference: Reference, postgres_previous: str, tmp_path: Path,
    record_property: Callable[[str, object], None],
) -> None:
    outcome, home = crash(emulator, postgres_previous, tmp_path, kill_during_postgres_copy, postgres_reference)
    assert_whole_days(outcome)
    raw = outcome.states["raw_conversations"]
    # Killed inside the open transaction: the day in flight keeps its previous rows.
    assert [raw[day] for day in DAYS] == ["new", "previous", "previous"]
    assert_rerun_matches_undisturbed(emulator, postgres_previous, home, tmp_path, postgres_reference, outcome, record_property)
