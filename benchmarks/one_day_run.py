"""Benchmark 5: what one scheduled day costs, as a user runs it, in both executors side by side.

    python -m benchmarks.one_day_run [--per-day 240] [--write]

Each executor gets a fresh warehouse and `DAGSTER_HOME`, and runs
`dagster asset materialize -m jelou_assets.definitions --select '*'` three times against the emulator in
its own process: one day on the empty warehouse, the next day, then a three-day `--partition-range`.
The client keeps its default request budget (`JELOU_REQUESTS_PER_SECOND` 5), as a real account would.
Wall time is from the command's start to its exit: loading the code location, every step and check, dbt.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date

from benchmarks.common import BenchmarkCannotRun, emulator_process, mb, record, scratch_dir, table
from benchmarks.scale import environment, materialize

FIRST_DAY = date(2024, 1, 1)
RUNS = (
    ("one day, empty warehouse", ["--partition", "2024-01-01"]),
    ("the next day", ["--partition", "2024-01-02"]),
    ("three days in one range run", ["--partition-range", "2024-01-03...2024-01-05"]),
)
EXECUTORS = {
    "in-process (default)": [],
    "multiprocess": ["--config-json", json.dumps({"execution": {"config": {"multiprocess": True}}})],
}


def measure(per_day: int) -> list[list[object]]:
    rows = []
    with emulator_process(per_day) as emulator, scratch_dir("jelou-bench-day-") as scratch:
        for executor, extra in EXECUTORS.items():
            home = scratch / executor.split()[0] / "dagster_home"
            env = environment(emulator.url, f"duckdb:///{home.parent / 'warehouse.duckdb'}", home)
            env.pop("JELOU_REQUESTS_PER_SECOND")
            for label, partitions in RUNS:
                wall, sampler = materialize(env, "*", partitions, extra, home.parent / f"{label}.log")
                rows.append([executor, label, f"{wall:.1f}", mb(sampler.peak_tree)])
                print(f"{executor}: {label}: {wall:.1f} s", flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.one_day_run", description=__doc__.splitlines()[0])
    parser.add_argument("--per-day", type=int, default=240)
    parser.add_argument("--write", action="store_true", help="rewrite the block in docs/BENCHMARKS.md")
    args = parser.parse_args(argv)
    try:
        rows = measure(args.per_day)
    except (BenchmarkCannotRun, ImportError) as error:
        print(f"benchmark cannot run: {error}", file=sys.stderr)
        return 2
    body = (
        f"{args.per_day} conversations per local day, DuckDB, the client's default request budget (5 requests/s); "
        "wall seconds of `dagster asset materialize --select '*'` and the peak RSS of its whole process tree.\n\n"
        + table(["executor", "run", "wall s", "peak RSS"], rows)
    )
    command = "python -m benchmarks.one_day_run" + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()
    record("one_day_run", "5. One day's run", body, command, args.write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
