"""`python -m jelou_assets.emulator --port 8765`: serve the emulator until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import signal
import threading
from datetime import date, datetime

from .dataset import TEAM_FIELDS, TIMESTAMP_FORMS
from .server import FAULTS, EmulatorConfig, JelouEmulator


def _aware_datetime(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError("--now needs a UTC offset, e.g. 2025-03-02T08:00:00-05:00")
    return value


def _fault_plan(text: str) -> dict[int, str]:
    """"3=500,5=reset" -> {3: "500", 5: "reset"}."""
    plan: dict[int, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        number, _, fault = item.partition("=")
        if fault not in FAULTS or not number.isdigit():
            raise argparse.ArgumentTypeError(f"bad fault {item!r}; faults: {', '.join(sorted(FAULTS))}")
        plan[int(number)] = fault
    return plan


def build_parser() -> argparse.ArgumentParser:
    d = EmulatorConfig()
    p = argparse.ArgumentParser(prog="python -m jelou_assets.emulator", description=__doc__)
    p.add_argument("--host", default=d.host)
    p.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    p.add_argument("--client-id", default=d.client_id)
    p.add_argument("--client-secret", default=d.client_secret)
    p.add_argument("--auth-schemes", default=",".join(d.accepted_auth_schemes),
                   help="accepted Authorization forms: basic,raw")
    p.add_argument("--per-day", type=int, default=d.per_day, help="conversations per local day")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--timezone", default=d.timezone, help="the account's zone (defines local days)")
    p.add_argument("--response-timezone", default=d.response_timezone,
                   help="zone of the naive startAt/endAt strings")
    p.add_argument("--now", type=_aware_datetime, default=None, help="freeze the emulator's clock")
    p.add_argument("--rate-limit", type=float, default=None, metavar="RPS",
                   help="requests per second across all clients; above it, 429")
    p.add_argument("--retry-after", choices=("seconds", "http-date", "none"), default="seconds",
                   help="the 429's Retry-After form, or none")
    p.add_argument("--rate-limit-headers", choices=("ratelimit", "x-ratelimit", "none"), default="none",
                   help="quota headers on every answer under --rate-limit: RateLimit-* (IETF draft) or X-RateLimit-*")
    p.add_argument("--latency-ms", type=int, default=0)
    p.add_argument("--error-rate", type=float, default=0.0, help="share of random 500s (seeded)")
    p.add_argument("--fault-plan", type=_fault_plan, default={}, help='e.g. "3=500,5=reset"')
    p.add_argument("--max-limit", type=int, default=d.max_limit)
    p.add_argument("--drift", type=int, default=0, help="conversations arriving during page walks")
    p.add_argument("--type-drift", action="store_true",
                   help="some records carry timeRepliedOperator null, a numeric string or junk, or an unknown state")
    readings = p.add_argument_group("readings", "answers the API documentation allows besides its own example")
    readings.add_argument("--first-day", type=date.fromisoformat, default=None,
                          help="the account's first day with conversations (YYYY-MM-DD); earlier days are empty")
    readings.add_argument("--timestamp-form", choices=TIMESTAMP_FORMS, default=d.timestamp_form,
                          help="startAt/endAt as the doc's naive example, ISO 8601 in UTC (...000Z) or with an offset")
    readings.add_argument("--team-field", choices=TEAM_FIELDS, default=d.team_field,
                          help="the team under assignationMethod.teamName, or only under operator.team")
    readings.add_argument("--upper-case-states", action="store_true", help="states as ACTIVE, CLOSED, ...")
    readings.add_argument("--empty-total-pages", type=int, choices=(0, 1), default=d.empty_total_pages,
                          help="totalPages of an empty window")
    readings.add_argument("--empty-results", choices=("empty", "missing", "null"), default=d.empty_results,
                          help="results of an empty window: [], no key, or null")
    readings.add_argument("--pagination-as-strings", action="store_true", help='pagination numbers as "61"')
    readings.add_argument("--omit-page", action="store_true", help="no pagination.page (as the doc's example)")
    readings.add_argument("--omit-offset", action="store_true", help="no pagination.offset")
    readings.add_argument("--omit-links", action="store_true", help="no links array")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    config = EmulatorConfig(
        host=args.host, port=args.port, client_id=args.client_id, client_secret=args.client_secret,
        accepted_auth_schemes=tuple(s.strip() for s in args.auth_schemes.split(",") if s.strip()),
        seed=args.seed, per_day=args.per_day, timezone=args.timezone,
        response_timezone=args.response_timezone, now=args.now, max_limit=args.max_limit,
        rate_limit_rps=args.rate_limit,
        retry_after=None if args.retry_after == "none" else args.retry_after,
        rate_limit_headers=None if args.rate_limit_headers == "none" else args.rate_limit_headers,
        latency_ms=args.latency_ms, error_rate=args.error_rate, fault_plan=args.fault_plan,
        drift=args.drift, type_drift=args.type_drift,
        first_day=args.first_day, timestamp_form=args.timestamp_form, team_field=args.team_field,
        upper_case_states=args.upper_case_states, empty_total_pages=args.empty_total_pages,
        empty_results=args.empty_results, pagination_as_strings=args.pagination_as_strings,
        omit_pagination_page=args.omit_page, omit_offset=args.omit_offset, omit_links=args.omit_links,
    )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    emulator = JelouEmulator(config).start()
    print(f"jelou emulator listening on {emulator.url}", flush=True)
    try:
        while not stop.wait(0.5):  # a timed wait keeps the main thread responsive to signals
            pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
