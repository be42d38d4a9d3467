"""Benchmark 4: the production warehouse path, PostgreSQL, at a smaller scale than benchmarks 1 and 3.

    python -m benchmarks.postgres [--days 5] [--scale-days 30] [--write]

Needs a PostgreSQL server: `BENCH_POSTGRES_URL` (default `postgresql+psycopg://root@127.0.0.1:5432/test`,
used only to create and drop a scratch database `jelou_bench_<random>`).

Part 1 runs 1(a) and 1(b) on DuckDB and 1(b) on PostgreSQL side by side over the same pages.
Part 2 runs benchmark 3 (the Dagster backfill through raw -> facts -> marts) for `--scale-days` days on
PostgreSQL.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from contextlib import contextmanager

from benchmarks.common import (
    PAGE_SIZE,
    BenchmarkCannotRun,
    bare_fetch,
    days_from,
    emulator_process,
    median,
    record,
    scratch_dir,
    table,
)

ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")


@contextmanager
def scratch_database():
    import sqlalchemy as sa

    try:
        admin = sa.create_engine(ADMIN_URL.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            version = connection.execute(sa.text("SHOW server_version")).scalar()
            name = f"jelou_bench_{uuid.uuid4().hex[:8]}"
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as error:
        raise BenchmarkCannotRun(f"no PostgreSQL at BENCH_POSTGRES_URL: {str(error.orig).splitlines()[0]}") from None
    os.environ["BENCH_POSTGRES_VERSION"] = str(version)
    try:
        yield sa.make_url(ADMIN_URL).set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def reset_schema(url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP SCHEMA IF EXISTS jelou CASCADE"))
    engine.dispose()


def ingestion(days_count: int, per_day: int, rounds: int, database_url: str) -> str:
    from benchmarks.ingestion import FIRST_DAY, our_ingestion

    days = days_from(FIRST_DAY, days_count)
    expected = days_count * per_day
    times: dict[str, list[float]] = {"a": [], "duckdb": [], "postgres": []}
    with emulator_process(per_day) as emulator, scratch_dir("jelou-bench-pg-") as scratch:
        bare_fetch(emulator.url, days)  # warm-up
        import jelou_assets.defs.ingestion.raw_conversations  # noqa: F401  imports are not part of any client's time
        for number in range(1, rounds + 1):
            began = time.perf_counter()
            bare_fetch(emulator.url, days)
            times["a"].append(time.perf_counter() - began)
            conversations, split = our_ingestion(emulator.url, days, f"duckdb:///{scratch / f'ours-{number}.duckdb'}")
            assert conversations == expected
            times["duckdb"].append(split["seconds"])
            reset_schema(database_url)
            conversations, split = our_ingestion(emulator.url, days, database_url)
            assert conversations == expected
            times["postgres"].append(split["seconds"])
            print(f"round {number}: a {times['a'][-1]:.2f}s, duckdb {times['duckdb'][-1]:.2f}s, "
                  f"postgres {times['postgres'][-1]:.2f}s", flush=True)
    a, duck, pg = (median(times[k]) for k in ("a", "duckdb", "postgres"))
    return (
        f"{days_count} days × {per_day:,} conversations = {expected:,} conversations, pages of {PAGE_SIZE}, emulator in "
        f"its own process, median of {rounds} rounds.\n\n"
        + table(
            ["client", "seconds", "conversations/s", "vs (a)"],
            [
                ["(a) physical limit (bare `requests` + `json`)", f"{a:.2f}", f"{expected / a:,.0f}", "1.00"],
                ["(b) ours → DuckDB", f"{duck:.2f}", f"{expected / duck:,.0f}", f"{a / duck:.2f}"],
                ["(b) ours → PostgreSQL (`COPY`)", f"{pg:.2f}", f"{expected / pg:,.0f}", f"{a / pg:.2f}"],
            ],
        )
        + f"\n\nPostgreSQL / DuckDB time: {pg / duck:.2f}× (table creation is outside the timed loop)."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.postgres", description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=5, help="days for the ingestion comparison")
    parser.add_argument("--per-day", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scale-days", type=int, default=30, help="days for the Dagster backfill (0 skips it)")
    parser.add_argument("--write", action="store_true", help="rewrite the blocks in docs/BENCHMARKS.md")
    args = parser.parse_args(argv)
    command = "python -m benchmarks.postgres " + " ".join(argv if argv is not None else sys.argv[1:])
    try:
        with scratch_database() as database_url:
            body = ingestion(args.days, args.per_day, args.rounds, database_url)
            record("postgres_ingestion", "4. PostgreSQL: raw ingestion", body, command.strip(), args.write)
            if args.scale_days:
                from benchmarks import scale

                reset_schema(database_url)
                scale_args = ["--days", str(args.scale_days), "--per-day", str(args.per_day), "--big-day", "0",
                              "--warehouse-url", database_url]
                # The URL holds no password here (trust auth); it is still not echoed into the document.
                code = scale.main(scale_args + (["--write"] if args.write else []), block="postgres_scale",
                                  command=command.strip())
                if code:
                    return code
    except (BenchmarkCannotRun, ImportError) as error:
        print(f"benchmark cannot run: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
