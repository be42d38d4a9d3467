"""Benchmark 2: how much of a rate budget one day's walk uses, and how well the budget learns a lower limit.

    python -m benchmarks.rate_budget [--per-day 5000] [--rps 20] [--latency-ms 200] [--write]

The emulator (its own process) allows `--rps` requests per second (token bucket, 429 with `Retry-After`
above it) and answers every request after `--latency-ms`. Our client, configured with the same budget
(`JELOU_REQUESTS_PER_SECOND`), walks one day of `--per-day` conversations with several values of
`JELOU_MAX_PAGES_IN_FLIGHT`; the default (4) is the headline row.

Targets: at least 90 % of the budget used (requests/s achieved over the walk), at most 2 % 429s.

Then the learning part (`learning`): the server allows fewer requests than the client's ceiling
(`--server-rps 4` against `--ceiling 5`) and one client walks a backfill of `--learn-days` days of
`--learn-per-day` conversations, as `raw_conversations` does, in each of the emulator's rate-limit modes.
Targets: at most 5 % 429s with `Retry-After` (10 % without) and a wall time within 1.25x the ideal
(pages / server limit); with the server limit above the ceiling, no 429s and at least 90 % of the ceiling.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date

from benchmarks.common import CLIENT_ID, CLIENT_SECRET, PAGE_SIZE, BenchmarkCannotRun, emulator_process, record, table

DAY = date(2024, 3, 1)


def walk_days(base_url: str, ceiling: float, days: list[date], in_flight: int = 4, learned: float | None = None) -> dict:
    """One client for the whole backfill, as one `raw_conversations` run uses; `learned`: where it starts."""
    from jelou_assets.client import JelouResource
    from jelou_assets.day_windows import day_window
    from jelou_assets.settings import Settings

    client = JelouResource(
        base_url=base_url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, page_size=PAGE_SIZE,
        max_pages_in_flight=in_flight, requests_per_second=ceiling, api_pool_limit=1,
    ).get_client(learned_requests_per_second=learned)
    windows = []
    try:
        began = time.perf_counter()
        for day in days:
            windows.append(client.fetch_window(*day_window(day, Settings().timezone)))
        wall = time.perf_counter() - began
    finally:
        client.close()
    return {
        "conversations": sum(len(w.ids) for w in windows),
        "exact": all(len(set(w.ids)) == len(w.ids) == w.api_total for w in windows),
        "pages": sum(w.pages for w in windows),
        "requests": sum(w.requests for w in windows),
        "throttled": sum(w.throttled for w in windows),
        "cuts": client.limiter.cuts,
        "learned": client.limiter.learned_requests_per_second,
        "wall": wall,
    }


LEARNING_MODES = [
    # (label, emulator flags, server limit below the ceiling?, 429 target)
    ("429 + Retry-After (seconds)", ["--retry-after", "seconds"], True, 0.05),
    ("the same, next run (starts at the learned rate)", ["--retry-after", "seconds"], True, 0.05),
    ("429 + Retry-After (HTTP-date)", ["--retry-after", "http-date"], True, 0.05),
    ("429, no Retry-After", ["--retry-after", "none"], True, 0.10),
    ("RateLimit-* headers (draft)", ["--rate-limit-headers", "ratelimit"], True, 0.05),
    ("X-RateLimit-* headers", ["--rate-limit-headers", "x-ratelimit"], True, 0.05),
    ("server limit above the ceiling", ["--retry-after", "seconds"], False, 0.0),
]


def run_learning(server_rps: float, ceiling: float, days: int, per_day: int, latency_ms: int, repeats: int,
                 write: bool, command: str) -> list[dict]:
    from benchmarks.common import days_from

    backfill = days_from(DAY, days)
    rows, results = [], []
    learned: float | None = None
    for label, flags, below, target_429 in LEARNING_MODES:
        limit = server_rps if below else ceiling * 2
        start = learned if label.startswith("the same, next run") else None
        walks = []
        for _ in range(repeats):
            with emulator_process(per_day, "--rate-limit", str(limit), "--latency-ms", str(latency_ms), *flags) as emu:
                for day in backfill:
                    warm(emu.url, day)
                time.sleep(1.5)  # the warm-up's tokens come back: the walk starts on a full bucket
                walks.append(walk_days(emu.url, ceiling, backfill, learned=start))
        # The median walk by wall time; the 429 count reported is the worst of the repeats.
        r = dict(sorted(walks, key=lambda w: w["wall"])[len(walks) // 2])
        r["throttled"] = max(w["throttled"] for w in walks)
        r["requests"] = max(walks, key=lambda w: w["throttled"])["requests"]
        r["exact"] = all(w["exact"] for w in walks)
        if start is None and below:
            learned = r["learned"]
        r["label"] = label
        results.append(r)
        share_429 = r["throttled"] / r["requests"] if r["requests"] else 0.0
        ideal = r["pages"] / min(limit, ceiling)
        achieved = r["requests"] / r["wall"]
        if below:
            met = share_429 <= target_429 and r["wall"] <= 1.25 * ideal
            target = f"≤ {target_429:.0%} 429s, ≤ 1.25x ideal"
        else:
            met = r["throttled"] == 0 and achieved >= 0.9 * ceiling
            target = "no 429s, ≥ 90 % of the ceiling"
        met = met and r["exact"]
        print(f"{label}: {r['requests']} requests, {r['throttled']} x 429, {r['wall']:.2f}s (ideal {ideal:.2f}s), "
              f"learned {r['learned']:.2f}/s", flush=True)
        rows.append([
            label, f"{limit:g}", f"{r['pages']}", f"{r['requests']}", f"{r['throttled']} ({share_429:.1%})",
            f"{r['wall']:.2f}", f"{ideal:.2f}", f"{r['wall'] / ideal:.2f}x", f"{achieved:.2f}",
            f"{r['learned']:.2f}", "yes" if r["exact"] else "**no**", f"{target}: " + ("met" if met else "**missed**"),
        ])
    body = (
        f"A backfill of {days} days × {per_day:,} conversations ({results[0]['pages']} pages of {PAGE_SIZE}) walked by "
        f"one client (as one `raw_conversations` run), `JELOU_REQUESTS_PER_SECOND={ceiling:g}` (the ceiling), 4 pages "
        f"in flight; emulator in its own process with a token bucket of {server_rps:g} requests/s (one second of "
        f"burst) and {latency_ms} ms latency, in each rate-limit mode. Ideal wall time = pages ÷ min(server limit, "
        f"ceiling). Learned = what the budget had learned when the walk ended, where the next run starts (see "
        f"RATE_LIMITS.md; the \"next run\" row starts from the row above's). Exact = every day's distinct ids equal its total, none repeated, in every "
        f"repeat. {repeats} repeats per mode, each on a fresh emulator process: wall time is the median walk's, "
        f"429s the worst repeat's.\n\n"
        + table(["mode", "server req/s", "pages", "requests", "429s", "wall s", "ideal s", "wall ÷ ideal",
                 "requests/s", "learned req/s", "exact", "target"], rows)
    )
    record("rate_learning", "2b. Learning a lower rate limit", body, command, write)
    return results


def walk_day(base_url: str, rps: float, in_flight: int) -> dict:
    from jelou_assets.client import JelouResource
    from jelou_assets.day_windows import day_window
    from jelou_assets.settings import Settings

    client = JelouResource(
        base_url=base_url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, page_size=PAGE_SIZE,
        max_pages_in_flight=in_flight, requests_per_second=rps,
    ).get_client()
    try:
        began = time.perf_counter()
        window = client.fetch_window(*day_window(DAY, Settings().timezone))
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


def warm(base_url: str, day: date = DAY) -> None:
    """One request for page 1 so the emulator generates the day (a cost the real API does not have)."""
    from benchmarks.common import ENDPOINT, basic_auth
    from jelou_assets.day_windows import day_window
    from jelou_assets.settings import Settings

    start, end = day_window(day, Settings().timezone)
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
    parser.add_argument("--server-rps", type=float, default=4.0, help="learning: the server's limit")
    parser.add_argument("--ceiling", type=float, default=5.0, help="learning: JELOU_REQUESTS_PER_SECOND")
    parser.add_argument("--learn-days", type=int, default=2)
    parser.add_argument("--learn-per-day", type=int, default=700)
    parser.add_argument("--learn-latency-ms", type=int, default=100)
    parser.add_argument("--learn-repeats", type=int, default=None, help="learning walks per mode (default: --repeats)")
    parser.add_argument("--only", choices=("budget", "learning"), help="run one part only")
    parser.add_argument("--write", action="store_true", help="rewrite the blocks in docs/BENCHMARKS.md")
    args = parser.parse_args(argv)
    command = "python -m benchmarks.rate_budget" + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()
    try:
        if args.only != "learning":
            run(args.per_day, args.rps, args.latency_ms, [int(v) for v in args.in_flight.split(",")], args.repeats,
                args.write, command)
        if args.only != "budget":
            run_learning(args.server_rps, args.ceiling, args.learn_days, args.learn_per_day, args.learn_latency_ms,
                         args.learn_repeats or args.repeats, args.write, command)
    except (BenchmarkCannotRun, ImportError) as error:
        print(f"benchmark cannot run: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
