"""Benchmark 1: raw ingestion against the physical limit and against dlt, side by side in one run.

    python -m benchmarks.ingestion [--days 20] [--per-day 5000] [--rounds 3] [--write]

The emulator (its own process, no rate limit, page size 50) serves N days. Three clients read the same
pages, in turn, `--rounds` times; the table shows each client's median:

  (a) the physical limit: a bare `requests.Session` loop that fetches and `json`-decodes every page in
      turn and keeps nothing;
  (b) our raw ingestion: `JelouClient.fetch_window` + `WarehouseResource.replace_partitions(raw_rows(...))`
      per day, on a fresh DuckDB file, exactly what the `raw_conversations` asset does per day;
  (c) dlt: `rest_api_source` (RESTClient, `PageNumberPaginator(base_page=1, total_path=pagination.totalPages)`)
      loading the same days into its own DuckDB file.

Targets: b >= 0.8 x a and b >= 3 x c. The server is warmed (every page generated once) before timing.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date
from pathlib import Path

from benchmarks.common import (
    CLIENT_ID,
    CLIENT_SECRET,
    ENDPOINT,
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

FIRST_DAY = date(2024, 3, 1)


def our_ingestion(base_url: str, days: list[date], warehouse_url: str, max_pages_in_flight: int = 4) -> tuple[int, dict]:
    """What `raw_conversations` does per day (`ingest_days`), without Dagster around it.

    Returns (conversations, {"seconds": the timed loop, "fetch_s": sum of `fetch_window` times}); creating
    the tables (once per warehouse, at run start in Dagster) is outside the timed loop."""
    from jelou_assets.client import JelouResource
    from jelou_assets.defs.ingestion.raw_conversations import ingest_days
    from jelou_assets.partitions import daily_partitions
    from jelou_assets.settings import Settings
    from jelou_assets.warehouse.resource import WarehouseResource

    warehouse = WarehouseResource(url=warehouse_url)
    warehouse.ensure_tables()
    jelou = JelouResource(
        base_url=base_url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, page_size=PAGE_SIZE,
        max_pages_in_flight=max_pages_in_flight, requests_per_second=100_000.0,
    )
    client = jelou.get_client()
    conversations = 0
    fetch_s = 0.0
    began = time.perf_counter()
    try:
        for _day, window, _stored_s in ingest_days(client, warehouse, daily_partitions(Settings()), days):
            conversations += window.rows
            fetch_s += window.seconds
    finally:
        client.close()
    return conversations, {"seconds": time.perf_counter() - began, "fetch_s": fetch_s}


def dlt_ingestion(base_url: str, days: list[date], workdir: Path) -> int:
    """dlt's REST API source, one resource per day into one table, loaded into DuckDB."""
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")
    import dlt
    from dlt.sources.helpers.rest_client.auth import HttpBasicAuth
    from dlt.sources.helpers.rest_client.paginators import PageNumberPaginator
    from dlt.sources.rest_api import rest_api_source

    from jelou_assets.day_windows import day_window
    from jelou_assets.settings import Settings

    resources = []
    for day in days:
        start, end = day_window(day, Settings().timezone)
        resources.append(
            {
                "name": f"day_{day:%Y%m%d}",
                "table_name": "conversations",
                "write_disposition": "append",
                "endpoint": {
                    "path": ENDPOINT.lstrip("/"),
                    "method": "POST",
                    "params": {"limit": PAGE_SIZE},
                    "json": {"startAt": start.isoformat(timespec="seconds"), "endAt": end.isoformat(timespec="seconds"), "getJson": True},
                    "paginator": PageNumberPaginator(base_page=1, page_param="page", total_path="pagination.totalPages"),
                    "data_selector": "results",
                },
            }
        )
    source = rest_api_source(
        {"client": {"base_url": base_url + "/", "auth": HttpBasicAuth(CLIENT_ID, CLIENT_SECRET)}, "resources": resources},
        name="jelou",
    )
    pipeline = dlt.pipeline(
        pipeline_name="jelou_bench",
        pipelines_dir=str(workdir / "pipelines"),
        destination=dlt.destinations.duckdb(str(workdir / "dlt.duckdb")),
        dataset_name="jelou_dlt",
    )
    pipeline.run(source)
    with pipeline.sql_client() as client:
        return int(client.execute_sql("SELECT count(*) FROM conversations")[0][0])


def run(days_count: int, per_day: int, rounds: int, write: bool, command: str) -> dict:
    days = days_from(FIRST_DAY, days_count)
    expected = days_count * per_day
    results: dict[str, list[float]] = {"a": [], "b": [], "c": [], "b_fetch": []}
    with emulator_process(per_day) as emulator, scratch_dir("jelou-bench-ingestion-") as scratch:
        print(f"emulator {emulator.url} (separate process), {days_count} days x {per_day} conversations, page size {PAGE_SIZE}")
        import dlt  # noqa: F401  imports are not part of any client's time
        import jelou_assets.defs.ingestion.raw_conversations  # noqa: F401
        began = time.perf_counter()
        bare_fetch(emulator.url, days)
        print(f"warm-up (server generates every page once): {time.perf_counter() - began:.1f}s")
        for number in range(1, rounds + 1):
            began = time.perf_counter()
            conversations, _pages = bare_fetch(emulator.url, days)
            results["a"].append(time.perf_counter() - began)
            assert conversations == expected, conversations

            conversations, split = our_ingestion(emulator.url, days, f"duckdb:///{scratch / f'ours-{number}.duckdb'}")
            results["b"].append(split["seconds"])
            results["b_fetch"].append(split["fetch_s"])
            assert conversations == expected, conversations

            began = time.perf_counter()
            loaded = dlt_ingestion(emulator.url, days, scratch / f"dlt-{number}")
            results["c"].append(time.perf_counter() - began)
            assert loaded == expected, loaded
            print(
                f"round {number}: a {results['a'][-1]:.2f}s, b {results['b'][-1]:.2f}s "
                f"(fetch {results['b_fetch'][-1]:.2f}s), c {results['c'][-1]:.2f}s",
                flush=True,
            )
    a, b, c = (median(results[k]) for k in ("a", "b", "c"))
    rate = {k: expected / v for k, v in (("a", a), ("b", b), ("c", c))}
    rows = [
        ["(a) physical limit: bare `requests.Session` + `json` decode, stores nothing", f"{a:.2f}", f"{rate['a']:,.0f}", "1.00"],
        ["(b) ours: `JelouClient` + raw write to DuckDB", f"{b:.2f}", f"{rate['b']:,.0f}", f"{rate['b'] / rate['a']:.2f}"],
        ["(c) dlt `rest_api` (`PageNumberPaginator`) → DuckDB", f"{c:.2f}", f"{rate['c']:,.0f}", f"{rate['c'] / rate['a']:.2f}"],
    ]
    body = (
        f"{days_count} days × {per_day:,} conversations = {expected:,} conversations, "
        f"{expected // PAGE_SIZE:,} pages of {PAGE_SIZE}; emulator in its own process, no rate limit; "
        f"median of {rounds} rounds, clients in turn within each round.\n\n"
        + table(["client", "seconds", "conversations/s", "vs (a)"], rows)
        + f"\n\n- **b / a = {rate['b'] / rate['a']:.2f}** (target ≥ 0.80: "
        + ("met" if rate["b"] >= 0.8 * rate["a"] else "**missed**")
        + f")\n- **b / c = {rate['b'] / rate['c']:.2f}** (target ≥ 3.00: "
        + ("met" if rate["b"] >= 3 * rate["c"] else "**missed**")
        + f")\n- (b) `fetch_window` time summed over the days: median {median(results['b_fetch']):.2f}s; the next day "
        f"is fetched while the current one is written, so fetching and writing overlap.\n"
        f"- every round: a {', '.join(f'{v:.2f}' for v in results['a'])}s; "
        f"b {', '.join(f'{v:.2f}' for v in results['b'])}s; c {', '.join(f'{v:.2f}' for v in results['c'])}s"
    )
    record("ingestion", "1. Ingestion vs the physical limit and dlt", body, command, write)
    return {"a": a, "b": b, "c": c}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ingestion", description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=20)
    parser.add_argument("--per-day", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="rewrite the block in docs/BENCHMARKS.md")
    args = parser.parse_args(argv)
    try:
        run(args.days, args.per_day, args.rounds, args.write, "python -m benchmarks.ingestion" + (" " + " ".join(argv or sys.argv[1:])).rstrip())
    except (BenchmarkCannotRun, ImportError) as error:
        print(f"benchmark cannot run: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
