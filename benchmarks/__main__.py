"""`python -m benchmarks` (or `make bench`): all five benchmarks, one after the other, rewriting the generated
blocks of docs/BENCHMARKS.md. Exits non-zero only when a benchmark cannot run (timing never fails it).

    python -m benchmarks [--quick] [--no-write]

`--quick` runs smaller sizes (a smoke run, minutes instead of tens of minutes); the blocks then say so.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from benchmarks import ingestion, one_day_run, postgres, rate_budget, scale
from benchmarks.common import machine_facts, record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/BENCHMARKS.md alone")
    args = parser.parse_args(argv)
    write = [] if args.no_write else ["--write"]
    quick = args.quick
    load_before = os.getloadavg()
    began = time.perf_counter()
    runs = [
        ("ingestion", ingestion.main, (["--days", "5", "--rounds", "1"] if quick else []) + write),
        ("rate_budget", rate_budget.main, (["--repeats", "1"] if quick else []) + write),
        ("scale", scale.main, (["--days", "10", "--big-day", "10000"] if quick else []) + write),
        ("postgres", postgres.main, (["--days", "2", "--rounds", "1", "--scale-days", "5"] if quick else []) + write),
        ("one_day_run", one_day_run.main, (["--per-day", "60"] if quick else []) + write),
    ]
    failed = []
    for name, run, arguments in runs:
        print(f"\n==== benchmarks.{name} {' '.join(arguments)}", flush=True)
        if run(arguments) != 0:
            failed.append(name)
    minutes = (time.perf_counter() - began) / 60
    load_after = os.getloadavg()
    body = (
        f"- Machine: {machine_facts()}\n"
        f"- Load average (1/5/15 min) before: {'/'.join(f'{v:.2f}' for v in load_before)}, after: "
        f"{'/'.join(f'{v:.2f}' for v in load_after)} (anything above 0 is another process competing for the 2 cores)\n"
        f"- All five took {minutes:.1f} minutes" + (f"; could not run: {', '.join(failed)}" if failed else "")
    )
    command = "make bench" + (" (python -m benchmarks --quick)" if quick else "")
    record("machine", "Machine", body, command, not args.no_write)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
