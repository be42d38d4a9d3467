"""Benchmark 3: a year through raw -> facts -> marts, driven the way a user backfills, plus one 50,000-conversation day.

    python -m benchmarks.scale [--days 365] [--per-day 5000] [--big-day 50000] [--multiprocess] [--write]

Everything goes through `dagster asset materialize -m jelou_assets.definitions --select '*'` as a
subprocess, with its own `DAGSTER_HOME` (SQLite instance; `concurrency.pools.default_limit: 1` on
DuckDB, as the README asks) and warehouse file, against the emulator in its own process, unthrottled.
The year is run as a user would:

1. the first day alone (`--partition`), on an empty warehouse: the daily run at the start of the year;
2. the rest but the last day as one backfill run (`--partition-range`, one run per `BackfillPolicy.single_run`);
3. the last day alone, with the whole year already stored: the daily run at the end of the year.

Run 1 and run 3 do the same work on a warehouse holding 0 and N-1 days: that is "cost as history grows".
Inside run 2 the raw and facts steps log each day; the time between consecutive day messages is the
per-day cost, compared over the first and the last ten days. The fetch time (sum of `fetch_window`
seconds) is reported separately from the rest of the pipeline.

Peak RSS is sampled (psutil, every 50 ms) over the `dagster` process and all its children (the step
subprocesses with `--multiprocess`, dbt); the emulator is a separate process and not counted.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import psutil

from benchmarks.common import (
    ROOT,
    BenchmarkCannotRun,
    emulator_process,
    mb,
    median,
    record,
    scratch_dir,
    table,
)

FIRST_DAY = date(2024, 1, 1)
DAY_MESSAGE = re.compile(r"^(\d{4}-\d{2}-\d{2}) \((\d+)/(\d+)\)")
FETCH_SECONDS = re.compile(r"fetched in ([0-9.]+)s|, ([0-9.]+)s$")
STORE_SECONDS = re.compile(r"stored in ([0-9.]+)s")


@dataclass
class TreeSampler:
    """Peak RSS per process (by pid) and of the whole tree at once, sampled while a subprocess runs."""

    root: psutil.Process
    per_pid: dict[int, int] = field(default_factory=dict)
    peak_tree: int = 0

    def sample(self) -> None:
        try:
            processes = [self.root, *self.root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        total = 0
        for process in processes:
            try:
                rss = process.memory_info().rss
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
            total += rss
            self.per_pid[process.pid] = max(self.per_pid.get(process.pid, 0), rss)
        self.peak_tree = max(self.peak_tree, total)


@dataclass
class RunResult:
    label: str
    days: int
    wall: float
    peak_tree: int
    peak_by_step: dict[str, int]
    peak_launcher: int
    step_seconds: dict[str, float]
    raw_days: list[tuple[float, float, float, float]]  # (timestamp, fetch s, interval, store s) per day
    facts_days: list[tuple[float, float]]  # (timestamp, interval) per day
    fetch_seconds: float
    conversations: int


def materialize(env: dict[str, str], selection: str, partition_args: list[str], extra: list[str], log_path: Path) -> tuple[float, TreeSampler]:
    command = [str(Path(sys.executable).parent / "dagster"), "asset", "materialize", "-m", "jelou_assets.definitions",
               "--select", selection, *partition_args, *extra]
    with log_path.open("w") as log:
        began = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        sampler = TreeSampler(psutil.Process(process.pid))
        while process.poll() is None:
            sampler.sample()
            time.sleep(0.05)
        wall = time.perf_counter() - began
    if process.returncode != 0:
        tail = log_path.read_text().splitlines()[-15:]
        raise BenchmarkCannotRun(f"`{' '.join(command[1:])}` failed ({process.returncode}):\n" + "\n".join(tail))
    return wall, sampler


def run_events(dagster_home: Path):
    """The latest run's event log from the benchmark's own instance."""
    from dagster import DagsterInstance

    previous = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    try:
        with DagsterInstance.get() as instance:
            run = instance.get_runs(limit=1)[0]
            return run, list(instance.all_logs(run.run_id))
    finally:
        if previous is None:
            os.environ.pop("DAGSTER_HOME", None)
        else:
            os.environ["DAGSTER_HOME"] = previous


def analyse(label: str, days: int, wall: float, sampler: TreeSampler, launcher_pid: int, dagster_home: Path) -> RunResult:
    _run, events = run_events(dagster_home)
    starts: dict[str, float] = {}
    step_seconds: dict[str, float] = {}
    step_pids: dict[int, list[str]] = {}
    raw_days: list[tuple[float, float, float, float]] = []
    facts_days: list[tuple[float, float]] = []
    conversations = 0
    for event in events:
        step = event.step_key
        if event.dagster_event is not None:
            kind = event.dagster_event.event_type_value
            if kind == "STEP_START" and step:
                starts[step] = event.timestamp
                if event.dagster_event.pid:
                    step_pids.setdefault(event.dagster_event.pid, []).append(step)
            elif kind in ("STEP_SUCCESS", "STEP_FAILURE") and step in starts:
                step_seconds[step] = step_seconds.get(step, 0.0) + event.timestamp - starts[step]
            continue
        message = event.user_message or ""
        if not DAY_MESSAGE.match(message) or step not in ("raw_conversations", "conversation_facts"):
            continue
        if step == "raw_conversations":
            previous = raw_days[-1][0] if raw_days else starts.get(step, event.timestamp)
            fetch = FETCH_SECONDS.search(message)
            fetch_s = float(next(g for g in fetch.groups() if g)) if fetch else 0.0
            store = STORE_SECONDS.search(message)
            raw_days.append((event.timestamp, fetch_s, event.timestamp - previous, float(store.group(1)) if store else 0.0))
            conversations += int(re.search(r": (\d+) conversations", message).group(1))
        else:
            previous = facts_days[-1][0] if facts_days else starts.get(step, event.timestamp)
            facts_days.append((event.timestamp, event.timestamp - previous))
    peak_by_step: dict[str, int] = defaultdict(int)
    for pid, rss in sampler.per_pid.items():
        for step in step_pids.get(pid, ()):
            # In-process (the default) every step shares the run's process: each is charged its peak.
            peak_by_step[step] = max(peak_by_step[step], rss)
    dbt_peak = max((rss for pid, rss in sampler.per_pid.items() if pid not in step_pids and pid != launcher_pid), default=0)
    if dbt_peak:
        peak_by_step["(other children: dbt)"] = dbt_peak
    return RunResult(
        label=label, days=days, wall=wall, peak_tree=sampler.peak_tree, peak_by_step=dict(peak_by_step),
        peak_launcher=sampler.per_pid.get(launcher_pid, 0), step_seconds=step_seconds, raw_days=raw_days,
        facts_days=facts_days, fetch_seconds=sum(d[1] for d in raw_days), conversations=conversations,
    )


def environment(emulator_url: str, warehouse_url: str, dagster_home: Path) -> dict[str, str]:
    dagster_home.mkdir(parents=True, exist_ok=True)
    pools = "concurrency:\n  pools:\n    default_limit: 1\n" if warehouse_url.startswith("duckdb") else ""
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n" + pools)
    env = {
        **os.environ,
        "DAGSTER_HOME": str(dagster_home),
        "JELOU_BASE_URL": emulator_url,
        "JELOU_CLIENT_ID": "demo",
        "JELOU_CLIENT_SECRET": "demo-secret",
        "JELOU_WAREHOUSE_URL": warehouse_url,
        "JELOU_REQUESTS_PER_SECOND": "100000",
        "JELOU_PARTITIONS_START": FIRST_DAY.isoformat(),
    }
    return env


def per_day_ms(values: list[float]) -> str:
    return f"{median(values) * 1000:,.0f}" if values else "–"


def year(days: int, per_day: int, warehouse_url: str | None, extra: list[str], scratch: Path) -> list[RunResult]:
    home = scratch / "dagster_home"
    url = warehouse_url or f"duckdb:///{scratch / 'warehouse.duckdb'}"
    last = FIRST_DAY + timedelta(days=days - 1)
    plan = [
        ("day 1 alone (empty warehouse)", ["--partition", FIRST_DAY.isoformat()], 1),
        (f"days 2–{days - 1} in one backfill run", ["--partition-range", f"{FIRST_DAY + timedelta(days=1)}...{last - timedelta(days=1)}"], days - 2),
        (f"day {days} alone ({days - 1} days stored)", ["--partition", last.isoformat()], 1),
    ]
    results = []
    with emulator_process(per_day) as emulator:
        env = environment(emulator.url, url, home)
        for number, (label, partitions, count) in enumerate(plan, start=1):
            print(f"run {number}: {label} ...", flush=True)
            wall, sampler = materialize(env, "*", partitions, extra, scratch / f"run-{number}.log")
            result = analyse(label, count, wall, sampler, sampler.root.pid, home)
            results.append(result)
            print(f"  {wall:.1f}s wall, fetch {result.fetch_seconds:.1f}s, {result.conversations:,} conversations, "
                  f"peak RSS {mb(result.peak_tree)} (tree); steps: "
                  + ", ".join(f"{k} {v:.1f}s" for k, v in result.step_seconds.items()), flush=True)
    return results


def big_day(per_day: int, warehouse_url: str | None, extra: list[str], scratch: Path) -> RunResult:
    home = scratch / "dagster_home_big"
    url = warehouse_url or f"duckdb:///{scratch / 'warehouse-big.duckdb'}"
    day = date(2024, 6, 3)
    with emulator_process(per_day) as emulator:
        env = environment(emulator.url, url, home)
        print(f"one day of {per_day:,} conversations (raw_conversations only) ...", flush=True)
        wall, sampler = materialize(env, "raw_conversations", ["--partition", day.isoformat()], extra, scratch / "big.log")
    result = analyse(f"one day of {per_day:,}", 1, wall, sampler, sampler.root.pid, home)
    print(f"  {wall:.1f}s wall, peak RSS by step: " + ", ".join(f"{k} {mb(v)}" for k, v in result.peak_by_step.items()), flush=True)
    return result


def report(results: list[RunResult], big: RunResult | None, days: int, per_day: int, executor: str, engine: str) -> str:
    total_wall = sum(r.wall for r in results)
    fetch = sum(r.fetch_seconds for r in results)
    conversations = sum(r.conversations for r in results)
    beyond = total_wall - fetch
    peak_tree = max(r.peak_tree for r in results)
    lines = [
        f"{days} days × {per_day:,} conversations = {conversations:,} conversations on {engine}, "
        f"`dagster asset materialize --select '*'` ({executor} executor), emulator unthrottled in its own process.",
        "",
        table(
            ["run", "days", "wall s", "fetch s", "wall − fetch s", "peak RSS, whole tree", "largest step process"],
            [
                [r.label, r.days, f"{r.wall:.1f}", f"{r.fetch_seconds:.1f}", f"{r.wall - r.fetch_seconds:.1f}",
                 mb(r.peak_tree), (lambda k: f"{k} {mb(r.peak_by_step[k])}" if k else "–")(
                     max(r.peak_by_step, key=r.peak_by_step.get, default=None))]
                for r in results
            ] + [["**total**", days, f"**{total_wall:.1f}**", f"**{fetch:.1f}**", f"**{beyond:.1f}**", mb(peak_tree), ""]],
        ),
        "",
        "Step durations (seconds, from the run's event log; steps run at most two at a time):",
        "",
    ]
    steps = sorted({s for r in results for s in r.step_seconds}, key=lambda s: -sum(r.step_seconds.get(s, 0) for r in results))
    lines.append(table(["step"] + [f"run {i}" for i in range(1, len(results) + 1)],
                       [[s] + [f"{r.step_seconds.get(s, 0):.1f}" for r in results] for s in steps]))
    backfill = max(results, key=lambda r: r.days)
    raw_first = [i for _, _, i, _ in backfill.raw_days[1:11]]
    raw_last = [i for _, _, i, _ in backfill.raw_days[-10:]]
    store_first = [w for _, _, _, w in backfill.raw_days[1:11]]
    store_last = [w for _, _, _, w in backfill.raw_days[-10:]]
    fetch_first = [f for _, f, _, _ in backfill.raw_days[1:11]]
    fetch_last = [f for _, f, _, _ in backfill.raw_days[-10:]]
    facts_first = [i for _, i in backfill.facts_days[1:11]]
    facts_last = [i for _, i in backfill.facts_days[-10:]]
    first, last = results[0], results[-1]
    lines += [
        "",
        f"Cost per day at the start and at the end of the year (median ms per day over ten days of the backfill run; "
        f"the daily runs are whole runs of one day):",
        "",
        table(
            ["", "start of year", "end of year"],
            [
                ["raw: fetch (`fetch_window`)", per_day_ms(fetch_first), per_day_ms(fetch_last)],
                ["raw: store (Arrow rows + warehouse write; overlaps the next fetch)", per_day_ms(store_first),
                 per_day_ms(store_last)],
                ["raw: whole day (time between two day messages)", per_day_ms(raw_first), per_day_ms(raw_last)],
                ["facts: read + clean + write", per_day_ms(facts_first), per_day_ms(facts_last)],
                ["daily run, whole (wall ms)", f"{first.wall * 1000:,.0f}", f"{last.wall * 1000:,.0f}"],
                ["daily run, dbt step (ms)", f"{first.step_seconds.get('sla_marts', 0) * 1000:,.0f}",
                 f"{last.step_seconds.get('sla_marts', 0) * 1000:,.0f}"],
            ],
        ),
    ]
    if big is not None:
        step_peak = big.peak_by_step.get("raw_conversations", 0)
        lines += [
            "",
            f"One day of {big.conversations:,} conversations, `--select raw_conversations`: {big.wall:.1f}s wall "
            f"(fetch {big.fetch_seconds:.1f}s); peak RSS of the step process **{mb(step_peak)}**, of the launcher "
            f"(`dagster asset materialize`, which runs no step) {mb(big.peak_launcher)}, whole tree {mb(big.peak_tree)}.",
        ]
    lines += [
        "",
        f"Targets: pipeline time beyond fetching ≤ 60 s: **{beyond:.0f} s**, "
        + ("met" if beyond <= 60 else "**missed**")
        + f"; peak RSS ≤ 1.5 GB: **{mb(peak_tree)}**, " + ("met" if peak_tree <= 1.5e9 else "**missed**")
        + (f"; 50,000-conversation day ≤ 300 MB: **{mb(big.peak_by_step.get('raw_conversations', 0))}**, "
           + ("met" if big.peak_by_step.get("raw_conversations", 0) <= 300e6 else "**missed**") if big else "")
        + ".",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None, block: str = "scale", prog: str = "python -m benchmarks.scale",
         command: str | None = None) -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--per-day", type=int, default=5000)
    parser.add_argument("--big-day", type=int, default=50_000, help="conversations of the single big day (0 skips it)")
    parser.add_argument("--warehouse-url", default=None, help="default: a DuckDB file in a scratch directory")
    parser.add_argument("--multiprocess", action="store_true", help="one subprocess per step (the default runs them in the run's process)")
    parser.add_argument("--write", action="store_true", help="rewrite the block in docs/BENCHMARKS.md")
    args = parser.parse_args(argv)
    if args.days < 3:
        parser.error("--days must be at least 3")
    extra = ["--config-json", json.dumps({"execution": {"config": {"multiprocess": True}}})] if args.multiprocess else []
    engine = "PostgreSQL" if args.warehouse_url and args.warehouse_url.startswith("postgres") else "DuckDB (embedded default)"
    try:
        with scratch_dir("jelou-bench-scale-") as scratch:
            results = year(args.days, args.per_day, args.warehouse_url, extra, scratch)
            big = big_day(args.big_day, args.warehouse_url, extra, scratch) if args.big_day else None
    except (BenchmarkCannotRun, ImportError) as error:
        print(f"benchmark cannot run: {error}", file=sys.stderr)
        return 2
    body = report(results, big, args.days, args.per_day, "multiprocess" if args.multiprocess else "in-process (default)", engine)
    record(block, "3. Scale: a year through raw → facts → marts" if block == "scale" else "4. PostgreSQL: the year at a smaller scale",
           body, command or f"{prog} {' '.join(argv if argv is not None else sys.argv[1:])}".strip(), args.write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
