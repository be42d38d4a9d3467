"""Run the pipeline as production does (the Dagster CLI in its own process group), watch it through real
signals (/proc, Dagster's event log, dbt's log, pg_locks), SIGKILL the whole group, and read the warehouse
back table by table for row-for-row comparisons."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa

from jelou_assets.settings import PROJECT_ROOT
from jelou_assets.warehouse.resource import WarehouseResource

DAGSTER = str(Path(sys.executable).parent / "dagster")
DBT_TARGET_DIR = PROJECT_ROOT / "dbt_project" / "target"

# Every table the pipeline writes, and the columns that legitimately differ from one run to the next.
TABLES: dict[str, frozenset[str]] = {
    "raw_conversations": frozenset({"fetched_at"}),
    "raw_partition_loads": frozenset({"seconds", "fetched_at"}),
    "conversation_facts": frozenset({"fetched_at"}),
    "sla_policies": frozenset(),
    "team_sla_daily": frozenset(),
    "operator_sla_daily": frozenset(),
}
# A text column per partitioned table, suffixed to tell a day's previous rows from the rows a new run writes.
MARKED_COLUMN: dict[str, str] = {
    "raw_conversations": "conversation_id",
    "raw_partition_loads": "window_start",
    "conversation_facts": "conversation_id",
    "team_sla_daily": "team_name",
    "operator_sla_daily": "operator_name",
}
PREVIOUS_MARK = "#previous"

Row = tuple[Any, ...]
Snapshot = dict[str, list[Row]]
T = TypeVar("T")


def pipeline_env(emulator_url: str, warehouse_url: str, home: Path) -> dict[str, str]:
    """The environment a production run gets: the API, its credentials, the warehouse, the instance."""
    return {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "JELOU_BASE_URL": emulator_url,
        "JELOU_CLIENT_ID": "demo",
        "JELOU_CLIENT_SECRET": "demo-secret",
        "JELOU_WAREHOUSE_URL": warehouse_url,
        "JELOU_PAGE_SIZE": "1000",
        "JELOU_REQUESTS_PER_SECOND": "500",
    }


@dataclass
class Run:
    """One `dagster asset materialize --select '*'` over a partition range, leader of its own process group."""

    process: subprocess.Popen
    home: Path
    output: Path
    started: float = field(default_factory=time.monotonic)

    @property
    def pgid(self) -> int:
        return self.process.pid

    def output_tail(self, chars: int = 3000) -> str:
        return self.output.read_text(errors="replace")[-chars:]


def start_run(env: dict[str, str], first: date, last: date, output: Path) -> Run:
    command = [DAGSTER, "asset", "materialize", "-m", "jelou_assets.definitions", "--select", "*",
               "--partition-range", f"{first.isoformat()}...{last.isoformat()}"]
    with output.open("wb") as sink:
        # A session of its own: killpg reaches the run process, every step subprocess and dbt, and nothing else.
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    return Run(process, Path(env["DAGSTER_HOME"]), output)


def run_to_completion(env: dict[str, str], first: date, last: date, output: Path, timeout_s: float = 600) -> float:
    run = start_run(env, first, last, output)
    try:
        code = run.process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        kill_group(run)
        raise
    assert code == 0, f"run failed ({code}):\n{run.output_tail()}"
    return time.monotonic() - run.started


def _group_of(pid: int) -> tuple[int, str] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    return int(fields[2]), fields[0]  # (process group, state)


def group_pids(pgid: int) -> list[int]:
    """Live (non-zombie) processes of the group."""
    pids = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            found = _group_of(int(entry.name))
            if found and found[0] == pgid and found[1] != "Z":
                pids.append(int(entry.name))
    return pids


def holders_of(path: Path, pgid: int) -> list[int]:
    """Processes of the group that have `path` open right now."""
    target = str(path.resolve())
    holding = []
    for pid in group_pids(pgid):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                    holding.append(pid)
                    break
            except OSError:
                continue
    return holding


def command_lines(pgid: int) -> list[str]:
    lines = []
    for pid in group_pids(pgid):
        try:
            lines.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            continue
    return lines


def run_id(home: Path) -> str | None:
    runs = [p.stem for p in (home / "history" / "runs").glob("*.db") if p.stem != "index"]
    return runs[0] if len(runs) == 1 else None


def event_messages(home: Path, step_key: str) -> list[str]:
    """The step's log messages so far, read from the run's event log (Dagster's sqlite storage)."""
    rid = run_id(home)
    if rid is None:
        return []
    try:
        with sqlite3.connect(f"file:{home / 'history' / 'runs' / f'{rid}.db'}?mode=ro", uri=True, timeout=1) as db:
            rows = db.execute("SELECT event FROM event_logs WHERE step_key = ? ORDER BY id", (step_key,)).fetchall()
    except sqlite3.Error:
        return []  # not created yet, or being written: ask again on the next poll
    return [json.loads(event).get("user_message", "") for (event,) in rows]


def step_started(home: Path, step_key: str) -> bool:
    return any(message.startswith("Started execution of step") for message in event_messages(home, step_key))


def wait_for_step(run: Run, step_key: str) -> None:
    """Wait, polling ten times a second, until `step_key` has started. The fast polls that catch a kill moment
    begin only then: hundreds a second through the run's start-up and earlier steps would take a core from
    the run being watched and from the tests beside it."""
    wait_for(lambda: step_started(run.home, step_key), run, f"{step_key} to start", interval_s=0.1)


class DbtLog:
    """dbt's JSON log of this run's invocation (dagster-dbt gives each invocation its own target directory)."""

    def __init__(self, home: Path) -> None:
        self.home, self.path, self.offset, self.lines = home, None, 0, []

    def started(self) -> bool:
        """Whether dbt has begun this run's log."""
        if self.path is None:
            rid = run_id(self.home)
            found = sorted(DBT_TARGET_DIR.glob(f"sla_marts-{rid[:7]}-*/dbt.log")) if rid else []
            self.path = found[0] if found else None
        return self.path is not None

    def new_lines(self) -> list[str]:
        if not self.started():
            return []
        with self.path.open("rb") as log:
            log.seek(self.offset)
            chunk = log.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self.offset += len(complete)
        fresh = complete.decode(errors="replace").splitlines()
        self.lines.extend(fresh)
        return fresh


def wait_for(condition: Callable[[], T], run: Run, what: str, timeout_s: float = 300, interval_s: float = 0.002) -> T:
    """Poll until `condition()` is truthy; fail if the run ends first (the kill point was missed)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if run.process.poll() is not None:
            raise AssertionError(f"the run exited ({run.process.returncode}) before {what}:\n{run.output_tail()}")
        time.sleep(interval_s)
    kill_group(run)
    raise AssertionError(f"timed out waiting for {what}:\n{run.output_tail()}")


def kill_group(run: Run, settle_s: float = 30) -> None:
    """SIGKILL the run process and all its descendants at once, as a lost machine would; wait until none is left."""
    try:
        os.killpg(run.pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    run.process.wait(timeout=settle_s)
    deadline = time.monotonic() + settle_s
    while group_pids(run.pgid):
        assert time.monotonic() < deadline, f"processes survived SIGKILL: {group_pids(run.pgid)}"
        time.sleep(0.05)


def _normal(value: Any) -> Any:
    # Doubles are compared to 9 decimals: the same aggregate may differ in its last bit between two runs.
    if isinstance(value, float):
        return round(value, 9)
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalars
        return _normal(value.item())
    if hasattr(value, "to_pydatetime"):
        return value.to_pydatetime()
    return value


def _tables(connection: sa.Connection) -> set[str]:
    query = "SELECT table_name FROM information_schema.tables WHERE table_schema = 'jelou'"
    return {name for (name,) in connection.execute(sa.text(query))}


def _columns(connection: sa.Connection, table: str) -> list[str]:
    """The table's compared columns, partition_date first when it has one."""
    query = ("SELECT column_name FROM information_schema.columns WHERE table_schema = 'jelou' AND table_name = :t "
             "ORDER BY ordinal_position")
    columns = [name for (name,) in connection.execute(sa.text(query), {"t": table}) if name not in TABLES[table]]
    if "partition_date" in columns:
        columns.remove("partition_date")
        columns.insert(0, "partition_date")
    return columns


def snapshot(warehouse_url: str) -> Snapshot:
    """Every table, without its per-run columns, as sorted rows (partition_date first when the table has it)."""
    warehouse = WarehouseResource(url=warehouse_url)
    tables: Snapshot = {}
    with warehouse.connect(lock_timeout_s=60) as connection:
        existing = _tables(connection)
        for name in TABLES:
            if name not in existing:
                tables[name] = []
                continue
            columns = _columns(connection, name)
            query = f"SELECT {', '.join(columns)} FROM jelou.{name}"
            rows = [tuple(_normal(v) for v in row) for row in connection.execute(sa.text(query))]
            tables[name] = sorted(rows, key=lambda row: tuple((v is None, str(v)) for v in row))
    warehouse.engine.dispose()
    return tables


def by_day(rows: list[Row]) -> dict[date, list[Row]]:
    days: dict[date, list[Row]] = {}
    for row in rows:
        days.setdefault(row[0], []).append(row)
    return days


def mark_previous(warehouse_url: str) -> None:
    """Make a copy of a finished warehouse look like an older version of the same days: every partitioned
    table's rows carry PREVIOUS_MARK, so after a crash each day shows whether it is wholly old or wholly new."""
    warehouse = WarehouseResource(url=warehouse_url)
    with warehouse.connect(lock_timeout_s=60) as connection:
        for table, column in MARKED_COLUMN.items():
            connection.execute(sa.text(f"UPDATE jelou.{table} SET {column} = {column} || '{PREVIOUS_MARK}'"))
        connection.commit()
    warehouse.engine.dispose()


def marked(rows: list[Row], table: str, warehouse_url: str) -> list[Row]:
    """`rows` as `mark_previous` leaves them (index of the marked column among the snapshot's columns)."""
    warehouse = WarehouseResource(url=warehouse_url)
    with warehouse.connect(lock_timeout_s=60) as connection:
        columns = _columns(connection, table)
    warehouse.engine.dispose()
    index = columns.index(MARKED_COLUMN[table])
    out = [row[:index] + (None if row[index] is None else f"{row[index]}{PREVIOUS_MARK}",) + row[index + 1:] for row in rows]
    return sorted(out, key=lambda row: tuple((v is None, str(v)) for v in row))


def table_names(warehouse_url: str) -> set[str]:
    """Every table in schema jelou (a crash must not leave dbt's temporary relations behind)."""
    warehouse = WarehouseResource(url=warehouse_url)
    with warehouse.connect(lock_timeout_s=60) as connection:
        names = _tables(connection)
    warehouse.engine.dispose()
    return names


def day_states(after: Snapshot, reference: Snapshot, warehouse_url: str) -> dict[str, dict[date, str]]:
    """For each partitioned table and each reference day: 'previous', 'new', 'absent' or 'MIXED'."""
    states: dict[str, dict[date, str]] = {}
    for table in MARKED_COLUMN:
        found, expected = by_day(after[table]), by_day(reference[table])
        states[table] = {}
        for day, rows in expected.items():
            now = sorted(found.get(day, []), key=lambda row: tuple((v is None, str(v)) for v in row))
            if not now:
                states[table][day] = "absent"
            elif now == sorted(rows, key=lambda row: tuple((v is None, str(v)) for v in row)):
                states[table][day] = "new"
            elif now == marked(rows, table, warehouse_url):
                states[table][day] = "previous"
            else:
                states[table][day] = f"MIXED ({len(now)} rows vs {len(rows)})"
        for day in set(found) - set(expected):
            states[table][day] = f"MIXED (unexpected day, {len(found[day])} rows)"
    return states
