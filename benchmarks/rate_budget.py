"""Benchmark 2: how much of a rate budget one day's walk uses.

    python -m benchmarks.rate_budget [--per-day 5000] [--rps 20] [--latency-ms 200] [--write]

The emulator (its own process) allows `--rps` requests per second (token bucket, 429 with `Retry-After`
above it) and answers every request after `--latency-ms`. Our client, configured with the same budget
(`JELOU_REQUESTS_PER_SECOND`), walks one day of `--per-day` conversations with several values of
`JELOU_MAX_PAGES_IN_FLIGHT`; the default (4) is the headline row.

Targets: at least 90 % of the budget used (requests/s achieved over the walk), at most 2 % 429s.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date

from benchmarks.common import CLIENT_ID, CLIENT_SECRET, PAGE_SIZE, BenchmarkCannotRun, emulator_process, record, table

DAY = date(2024, 3, 1)


def walk_day(base_url: str, rps: float, in_flight: int) -> dict:
    from jelou_assets.client import JelouResource
    from jelou_assets.partitions import day_window

    client = JelouResource(
        base_url=base_url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, page_size=PAGE_SIZE,
        max_pages_in_flight=in_flight, requests_per_second=rps,
    ).get_client()
    try:
        began = time.perf_counter()
        window = client.fetch_window(*day_window(DAY))
        wall = time.perf_counter() - began
    finally:
        client.close()
    return {
        "conversations": len(window.records),
        "pages": window.pages,
        "requests": window.requests,
        "throttled": window.throttled,
        "wall": wall,
    }


def warm(base_url: str) -> None:
    """One request for page 1 so the emulator generates the day (a cost the real API does not have)."""
    from benchmarks.common import ENDPOINT, basic_auth
    from jelou_assets.partitions import day_window

    start, end = day_window(DAY)
    body = {"startAt": start.isoformat(timespec="seconds"), "endAt": end.isoformat(timespec="seconds"), "getJson": True}
    import requests

    requests.post(base_url + ENDPOINT, params={"limit": PAGE_SIZE, "page": 1}, json=body,
                  headers={"Authorization": basic_auth()}, timeout=30).raise_for_status()


def run(per_day: int, rps: float, latency_ms: int, in_flight_values: list[int], repeats: int, write: bool,
        command: str) -> list[dict]:
    results = []
    for in_flight in in_flight_values:
        walks = []
        with emulator_process(per_day, "--rate-limit", str(rps), "--latency-ms", str(latency_ms)) as emulator:
            warm(emulator.url)
            for _ in range(repeats):
                time.sleep(1.5)  # every walk starts with the bucket refilled to its one-second capacity
                walks.append(walk_day(emulator.url, rps, in_flight))
                print(
                    f"in flight {in_flight}: {walks[-1]['requests']} requests in {walks[-1]['wall']:.2f}s = "
                    f"{walks[-1]['requests'] / walks[-1]['wall']:.1f}/s, {walks[-1]['throttled']} x 429",
                    flush=True,
                )
        result = sorted(walks, key=lambda w: w["wall"])[len(walks) // 2]  # the median walk
        result["in_flight"] = in_flight
        results.append(result)
    rows = []
    for r in results:
        achieved = r["requests"] / r["wall"]
        share_429 = r["throttled"] / r["requests"] if r["requests"] else 0.0
        ideal = r["pages"] / rps
        rows.append([
            f"{r['in_flight']}" + (" (default)" if r["in_flight"] == 4 else ""),
            f"{r['wall']:.2f}",
            f"{r['requests']}",
            f"{achieved:.1f}",
            f"{achieved / rps:.0%}",
            f"{share_429:.1%}",
            f"{ideal:.2f}",
            ("met" if achieved >= 0.9 * rps and share_429 <= 0.02 else "**missed**"),
        ])
    body = (
        f"One day of {per_day:,} conversations ({results[0]['pages']} pages of {PAGE_SIZE}); emulator in its own "
        f"process with a {rps:g} requests/s token bucket and {latency_ms} ms latency per request; client budget "
        f"`JELOU_REQUESTS_PER_SECOND={rps:g}`. Requests/s = requests (429s and retries included) ÷ wall time of "
        f"`fetch_window`; the median of {repeats} walks per row, each on a refilled bucket, after one warm-up request "
        f"(the emulator generates a day on first use). Ideal wall time = pages ÷ budget.\n\n"
        + table(["pages in flight", "wall s", "requests", "requests/s", "budget used", "429s", "ideal s",
                 "target (≥ 90 %, ≤ 2 % 429)"], rows)
    )
    record("rate_budget", "2. Rate-budget use", body, command, write)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.rate_budget", description=__doc__.splitlines()[0])
    parser.add_argument("--per-day", type=int, default=5000)
    parser.add_argument("--rps", type=float, default=20.0)
    parser.add_argument("--latency-ms", type=int, default=200)
    parser.add_argument("--in-flight", default="2,4,8", help="comma-separated JELOU_MAX_PAGES_IN_FLIGHT values")
    parser.add_argument("--repeats", type=int, default=3, help="walks per value; the median is reported")
    parser.add_argument("--write", action="store_true", help="rewrite the block in docs/BENCHMARKS.md")
    args = parser.parse_args(argv)
    try:
        run(args.per_day, args.rps, args.latency_ms, [int(v) for v in args.in_flight.split(",")], args.repeats, args.write,
            "python -m benchmarks.rate_budget" + (" " + " ".join(argv or sys.argv[1:])).rstrip())
    except (BenchmarkCannotRun, ImportError) as error:
        print(f"benchmark cannot run: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
