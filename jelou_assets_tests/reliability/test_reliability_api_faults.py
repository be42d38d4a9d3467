"""Faults from the API: every fault either lands the day exactly or fails naming the problem.

Each case first stores 2025-03-01, then moves the emulator's clock so the long-running conversations
close (a successful re-run visibly changes rows), injects the fault and materializes again through
Dagster against the emulator over HTTP and a real DuckDB file. "lands" means the stored raw rows are the
emulator's new ground truth, text for text, and the facts follow; "fails" means the run failed with a
message naming the problem and the day's raw rows, load record and facts are exactly as before.

Observed numbers (requests, retries, walks, seconds) are recorded with `record_property`, so
`pytest -m reliability -o junit_family=xunit1 --junitxml=...` gives the table of docs/RELIABILITY.md.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from dagster import AssetsDefinition, Backoff, ExecuteInProcessResult, Jitter, RetryPolicy, materialize

from jelou_assets.client.retry import worst_case_backoff_s, worst_case_request_s
from jelou_assets.client import JelouResource
from jelou_assets.client.aimd import DECREASE_FACTOR
from jelou_assets.emulator import JelouEmulator
from jelou_assets.emulator.dataset import DRIFT_JUNK_REPLY, DRIFT_STATE
from jelou_assets_tests.support.project import PARTITIONS, conversation_facts
from jelou_assets.defs.ingestion.raw_conversations import STEP_RETRY_POLICY, raw_conversations_asset
from jelou_assets.warehouse.resource import WarehouseResource
from jelou_assets_tests.support.emulated_api import jelou_for, stored, truth
from jelou_assets_tests.support.postgres import reset_schema

pytestmark = pytest.mark.reliability

GYE = ZoneInfo("America/Guayaquil")
DAY = date(2025, 3, 1)
KEY = DAY.isoformat()
STORED_AT = datetime(2025, 3, 2, 12, 0, tzinfo=GYE)  # some of DAY's conversations are still active
RERUN_AT = datetime(2025, 4, 1, tzinfo=UTC)  # every one of them has closed
FOREVER = range(1, 1_000)  # request numbers: every request of the run
TABLES = ("raw_conversations", "raw_partition_loads", "conversation_facts")


# The matrix tests one step attempt, so the client's own retries are what is observed; Dagster's step
# retries are measured in `test_a_permanent_500_fails_within_the_worst_case_including_dagster_step_retries`.
RAW_ONE_ATTEMPT = raw_conversations_asset(PARTITIONS, retry_policy=None)


@dataclass(frozen=True)
class Fault:
    """One row of the matrix: what the emulator does, and what the run must do about it."""

    plan: dict[int, str] = field(default_factory=dict)  # request number -> emulator fault
    knobs: dict[str, Any] = field(default_factory=dict)  # other EmulatorConfig fields
    client: dict[str, Any] = field(default_factory=dict)  # JelouResource overrides
    outcome: str = "lands"  # "lands" | "fails"
    message: tuple[str, ...] = ()  # fragments the failure must contain

    @staticmethod
    def forever(fault: str, *message: str, **knobs: Any) -> Fault:
        return Fault({n: fault for n in FOREVER}, knobs, outcome="fails", message=message)


TIMEOUT_CLIENT = {"read_timeout_s": 0.5}
TIMEOUT_KNOBS = {"timeout_sleep_s": 1.5}

# Request 1 is page 1; with 120 conversations at limit 50, requests 2-3 are pages 2-3 of the first walk.
MATRIX: dict[str, Fault] = {
    "429 burst, Retry-After in seconds": Fault({2: "429", 3: "429", 4: "429"}, {"retry_after": "seconds"}),
    "429 burst, Retry-After as HTTP-date": Fault({2: "429", 3: "429", 4: "429"}, {"retry_after": "http-date"}),
    "429 burst, no Retry-After": Fault({2: "429-no-retry-after", 3: "429-no-retry-after", 4: "429-no-retry-after"}),
    "500 once": Fault({2: "500"}),
    "502 once": Fault({2: "502"}),
    "503 once": Fault({2: "503"}),
    "connection reset before the answer": Fault({2: "reset"}),
    "connection closed mid-body": Fault({2: "incomplete"}),
    "read timeout once": Fault({2: "timeout"}, TIMEOUT_KNOBS, TIMEOUT_CLIENT),
    "truncated JSON once": Fault({1: "truncated"}),
    "malformed body once": Fault({2: "malformed"}),
    "200 without results once": Fault({2: "no_results"}),
    "200 without pagination once": Fault({1: "no_pagination"}),
    "total changes mid-walk": Fault(knobs={"drift": 1, "drift_after_request": 1}),
    "same _id on two pages once": Fault({2: "duplicate_id"}),
    "short page before the last once": Fault({1: "short_page"}),
    "totalPages inconsistent with total once": Fault({1: "bad_total_pages"}),
    "429 forever, Retry-After in seconds": Fault.forever(
        "429", "still rate limited (429)", "JELOU_REQUESTS_PER_SECOND"),
    "429 forever, Retry-After as HTTP-date": Fault.forever(
        "429", "still rate limited (429)", "JELOU_REQUESTS_PER_SECOND", retry_after="http-date"),
    "429 forever, no Retry-After": Fault.forever("429-no-retry-after", "still rate limited (429)"),
    "500 forever": Fault.forever("500", "the API answered 500 after 6 attempts"),
    "502 forever": Fault.forever("502", "the API answered 502 after 6 attempts", "Bad Gateway"),
    "503 forever": Fault.forever("503", "the API answered 503 after 6 attempts", "Service Unavailable"),
    "connection reset forever": Fault.forever("reset", "no usable answer", "ConnectionError"),
    "connection closed mid-body forever": Fault.forever("incomplete", "response body cut short"),
    "read timeout forever": Fault(
        {n: "timeout" for n in FOREVER}, TIMEOUT_KNOBS, TIMEOUT_CLIENT, "fails",
        ("no usable answer", "Read timed out")),
    "truncated JSON forever": Fault.forever("truncated", "200 response is not valid JSON"),
    "malformed body forever": Fault.forever("malformed", "200 response is not valid JSON", "<html>"),
    "200 without results forever": Fault.forever("no_results", "no `results` list"),
    "200 without pagination forever": Fault.forever("no_pagination", "no `pagination` object"),
    "total changes on every walk": Fault(
        knobs={"drift": 100_000, "drift_after_request": 1}, outcome="fails",
        message=("never added up", "JELOU_MAX_REWALKS")),
    "same _id on two pages forever": Fault.forever(
        "duplicate_id", "never added up", "117 distinct ids for a reported total of 120 (3 repeated)"),
    "short page forever": Fault.forever("short_page", "never added up", "page 1 has 49 records, expected 50"),
    "totalPages inconsistent forever": Fault.forever("bad_total_pages", "never added up", "totalPages=2 but total=120"),
}


@pytest.fixture
def emu() -> Iterator[JelouEmulator]:
    with JelouEmulator(per_day=120, seed=11, now=STORED_AT) as emulator:
        yield emulator


@pytest.fixture
def duck(tmp_path) -> WarehouseResource:
    warehouse = WarehouseResource(url=f"duckdb:///{tmp_path / 'warehouse.duckdb'}")
    warehouse.ensure_tables()
    return warehouse


@pytest.fixture
def postgres(postgres_server_url: str) -> WarehouseResource:
    reset_schema(postgres_server_url)
    warehouse = WarehouseResource(url=postgres_server_url)
    warehouse.ensure_tables()
    return warehouse


def run(emu: JelouEmulator, warehouse: WarehouseResource, raw: AssetsDefinition = RAW_ONE_ATTEMPT,
        **client: Any) -> ExecuteInProcessResult:
    return materialize(
        [raw, conversation_facts], partition_key=KEY, raise_on_error=False,
        resources={"jelou": jelou_for(emu, **client), "warehouse": warehouse},
    )


def snapshot(warehouse: WarehouseResource) -> dict[str, pd.DataFrame]:
    return {table: stored(warehouse, table, order="partition_date" if table == "raw_partition_loads" else
                          "partition_date, conversation_id") for table in TABLES}


def failure_text(result: ExecuteInProcessResult) -> str:
    """Every step failure's message with its causes, as the Dagster UI shows them."""
    return "\n".join(
        event.step_failure_data.error.to_string()
        for event in result.all_events
        if event.event_type_value == "STEP_FAILURE" and event.step_failure_data.error is not None
    )


def served_text(record: dict) -> str:
    """The emulator serves compact JSON in the record's key order; raw rows must hold exactly that text."""
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def expected_first_reply_ms(value: Any) -> int | None:
    """The documented rule: positive numbers (numeric strings included) are a reply; anything else is none."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return round(number) if round(number) > 0 else None


def assert_landed_exactly(emu: JelouEmulator, warehouse: WarehouseResource, result: ExecuteInProcessResult) -> None:
    assert result.success, failure_text(result)
    records = truth(emu, DAY)
    raw = stored(warehouse, "raw_conversations")
    assert dict(zip(raw["conversation_id"], raw["payload"])) == {r["_id"]: served_text(r) for r in records}
    assert len(raw) == len(records)
    load = stored(warehouse, "raw_partition_loads", order="partition_date").iloc[0]
    assert load["api_total"] == load["stored_rows"] == len(records)
    facts = stored(warehouse, "conversation_facts").set_index("conversation_id")
    assert sorted(facts.index) == sorted(r["_id"] for r in records)
    for record in records:
        fact = facts.loc[record["_id"]]
        assert fact["state"] == (record["state"].strip().lower() or None)
        assert fact["company_id"] == str(record["company"]["id"])
        reply = fact["first_reply_ms"]
        assert (None if pd.isna(reply) else int(reply)) == expected_first_reply_ms(record["timeRepliedOperator"])


def store_then_change_the_api(emu: JelouEmulator, warehouse: WarehouseResource,
                              change: Callable[[JelouEmulator], None]) -> dict[str, pd.DataFrame]:
    """Stores DAY, applies `change`, and proves a successful re-run would change the stored rows."""
    assert run(emu, warehouse).success
    before = snapshot(warehouse)
    change(emu)
    served = {r["_id"]: served_text(r) for r in truth(emu, DAY)}
    assert served != dict(zip(before["raw_conversations"]["conversation_id"], before["raw_conversations"]["payload"]))
    emu.reset_log()
    return before


def close_everything(emu: JelouEmulator) -> None:
    emu.config.now = RERUN_AT


def record_observation(record_property: Callable[[str, Any], None], emu: JelouEmulator,
                       warehouse: WarehouseResource, result: ExecuteInProcessResult, seconds: float) -> None:
    record_property("requests", emu.counters["requests"])
    record_property("statuses", {k: v for k, v in emu.counters.items() if k != "requests"})
    record_property("seconds", round(seconds, 2))
    if result.success:
        load = stored(warehouse, "raw_partition_loads", order="partition_date").iloc[0]
        record_property("load", {k: (round(float(load[k]), 2) if k == "seconds" else int(load[k]))
                                 for k in ("api_total", "stored_rows", "pages", "walks", "requests", "retries",
                                           "throttled", "seconds")})


@pytest.mark.parametrize("case", list(MATRIX), ids=list(MATRIX))
def test_api_fault_lands_exactly_or_fails_naming_it_leaving_the_day_untouched(emu, duck, case, record_property):
    fault = MATRIX[case]
    record_property("expected", "lands exactly" if fault.outcome == "lands" else
                    "fails naming " + " + ".join(f"“{m}”" for m in fault.message) + "; the stored day untouched")
    before = store_then_change_the_api(emu, duck, close_everything)
    for knob, value in fault.knobs.items():
        setattr(emu.config, knob, value)
    emu.config.fault_plan = dict(fault.plan)

    began = time.monotonic()
    result = run(emu, duck, **fault.client)
    record_observation(record_property, emu, duck, result, time.monotonic() - began)

    if fault.outcome == "lands":
        assert_landed_exactly(emu, duck, result)
    else:
        assert not result.success
        text = failure_text(result)
        for fragment in fault.message:
            assert fragment in text, text[-2000:]
        after = snapshot(duck)
        for table in TABLES:
            pd.testing.assert_frame_equal(before[table], after[table], obj=table)


@pytest.mark.postgres
@pytest.mark.parametrize("case", ["500 once", "same _id on two pages once", "200 without pagination forever",
                                  "total changes on every walk"])
def test_api_fault_on_postgresql_lands_exactly_or_leaves_the_day_untouched(emu, postgres, case):
    fault = MATRIX[case]
    before = store_then_change_the_api(emu, postgres, close_everything)
    for knob, value in fault.knobs.items():
        setattr(emu.config, knob, value)
    emu.config.fault_plan = dict(fault.plan)
    result = run(emu, postgres, **fault.client)
    if fault.outcome == "lands":
        assert_landed_exactly(emu, postgres, result)
    else:
        assert not result.success and fault.message[0] in failure_text(result)
        after = snapshot(postgres)
        for table in TABLES:
            pd.testing.assert_frame_equal(before[table], after[table], obj=table)


def test_type_drift_lands_and_the_facts_do_not_invent_values(emu, duck, record_property):
    store_then_change_the_api(emu, duck, lambda e: setattr(e.config, "type_drift", True))
    began = time.monotonic()
    result = run(emu, duck)
    record_observation(record_property, emu, duck, result, time.monotonic() - began)
    assert_landed_exactly(emu, duck, result)

    records = {r["_id"]: r for r in truth(emu, DAY)}
    facts = stored(duck, "conversation_facts").set_index("conversation_id")
    replies = {i: r["timeRepliedOperator"] for i, r in records.items()}
    null_reply = [i for i, v in replies.items() if v is None]
    junk_reply = [i for i, v in replies.items() if v == DRIFT_JUNK_REPLY]
    numeric_string = [i for i, v in replies.items() if isinstance(v, str) and v.isdigit() and int(v) > 0]
    unknown_state = [i for i, r in records.items() if r["state"] == DRIFT_STATE]
    assert null_reply and junk_reply and numeric_string and unknown_state
    # Null and junk mean "no reply", never a 0 ms one; junk is also flagged so it can be found.
    assert facts.loc[null_reply, "first_reply_ms"].isna().all()
    assert facts.loc[junk_reply, "first_reply_ms"].isna().all()
    assert all("unparseable_number" in flag for flag in facts.loc[junk_reply, "sanity_flag"])
    # A numeric string is the number the API meant (documented: "Numeric strings are read as numbers").
    assert [int(v) for v in facts.loc[numeric_string, "first_reply_ms"]] == [int(replies[i]) for i in numeric_string]
    assert (facts.loc[unknown_state, "state"] == DRIFT_STATE).all()
    # company.id arrives as int and as str; both are stored as the same text.
    shapes = {type(r["company"]["id"]) for r in records.values()}
    assert shapes == {int, str}
    assert set(facts["company_id"]) == {str(r["company"]["id"]) for r in records.values()}
    unknown = next(e for e in result.all_events
                   if e.event_type_value == "ASSET_MATERIALIZATION" and e.asset_key.path == ["conversation_facts"])
    assert unknown.materialization.metadata["unknown_states"].value == len(unknown_state)


def test_an_empty_day_lands_with_no_rows_and_a_load_record_of_zero(emu, duck, record_property):
    store_then_change_the_api(emu, duck, lambda e: setattr(e.config, "per_day", 0))
    began = time.monotonic()
    result = run(emu, duck)
    record_observation(record_property, emu, duck, result, time.monotonic() - began)
    assert result.success, failure_text(result)
    assert stored(duck, "raw_conversations").empty
    assert stored(duck, "conversation_facts").empty
    loads = stored(duck, "raw_partition_loads", order="partition_date")
    assert loads[["api_total", "stored_rows", "pages", "requests"]].to_dict("records") == [
        {"api_total": 0, "stored_rows": 0, "pages": 1, "requests": 1}]


@pytest.mark.slow
def test_a_day_of_50000_conversations_lands_exactly(duck, record_property):
    with JelouEmulator(per_day=50_000, seed=11, now=RERUN_AT) as big:
        began = time.monotonic()
        result = run(big, duck)
        record_property("seconds", round(time.monotonic() - began, 2))
        record_property("requests", big.counters["requests"])
        assert result.success, failure_text(result)
        records = truth(big, DAY)
        raw = stored(duck, "raw_conversations")
        assert len(records) == 50_000
        assert dict(zip(raw["conversation_id"], raw["payload"])) == {r["_id"]: served_text(r) for r in records}
        load = stored(duck, "raw_partition_loads", order="partition_date").iloc[0]
        assert (load["api_total"], load["stored_rows"], load["pages"]) == (50_000, 50_000, 1_000)
        assert len(stored(duck, "conversation_facts")) == 50_000


# ---- worst-case wall time for a permanently failing API ----------------------------------------------

# JelouResource's defaults except the test-friendly ones jelou_for sets, and a tenth of the production backoff so
# that no test sits through it: the bounds are computed from these; the production ones are asserted as arithmetic.
DEFAULT_CLIENT = dict(requests_per_second=5.0, max_retry_wait_s=60.0, retry_backoff_s=0.05)
BACKOFF_S = DEFAULT_CLIENT["retry_backoff_s"]
SLACK_S = 1.5  # between the first and the last request: the rate limiter's 0.2 s slots, scheduling
# The emulator stamps a request when its handler thread gets the GIL, which the run in the same process holds at
# times: a stamp can lag the arrival by tens of milliseconds, so a span can look that much shorter than the waits.
STAMP_LAG_S = 0.25
OVERHEAD_S = 10.0  # per step attempt on a loaded machine: Dagster's step start, the warehouse


def request_span(emu: JelouEmulator) -> float:
    """Seconds from the first request to the last, as the emulator saw them: the client's retrying alone."""
    starts = [entry["at"] for entry in emu.requests]
    return max(starts) - min(starts)


def timed_failure(emu: JelouEmulator, duck: WarehouseResource, record_property: Callable[[str, Any], None],
                  least: float, most: float, documented: float, **run_args: Any) -> tuple[ExecuteInProcessResult, float, float]:
    """Runs against the failing API; returns the result, the wall time and the span of the client's retrying."""
    began = time.monotonic()
    result = run(emu, duck, **run_args)
    elapsed, span = time.monotonic() - began, request_span(emu)
    record_property("seconds", round(elapsed, 2))
    record_property("retry_span_s", round(span, 2))
    record_property("requests", emu.counters["requests"])
    record_property("expected_span_s", f"{least:.1f}-{most:.1f}; documented bound {documented:.0f}")
    return result, elapsed, span


@pytest.mark.slow
@pytest.mark.parametrize("fault,knobs,client,retry_after_s", [
    ("500", {}, {}, None),
    ("429", {"retry_after": "seconds"}, {}, 1.0),  # the emulator's 429 fault asks for 1 s
    ("429-no-retry-after", {}, {}, None),
    ("reset", {}, {}, None),
    ("timeout", {"timeout_sleep_s": 3.0}, {"read_timeout_s": 1.0}, None),
], ids=["500", "429 with Retry-After", "429 without Retry-After", "reset", "read timeout"])
def test_a_permanently_failing_api_fails_one_step_attempt_within_the_computed_bound(
        emu, duck, fault, knobs, client, retry_after_s, record_property):
    for knob, value in knobs.items():
        setattr(emu.config, knob, value)
    emu.config.fault_plan = {n: fault for n in FOREVER}
    settings = {**DEFAULT_CLIENT, **client}
    resource = jelou_for(emu, **settings)
    attempts = resource.max_attempts
    hanging = (attempts - 1) * client.get("read_timeout_s", 0.0)  # every attempt but the last, before a retry
    # Each 429 also slows the shared budget (multiplicative decrease), spacing the next attempt further.
    spacing = sum(1 / (resource.requests_per_second * DECREASE_FACTOR ** n) for n in range(1, attempts))
    slowed = spacing if fault.startswith("429") else 0.0
    if retry_after_s is None:
        least = hanging + sum(BACKOFF_S * 2 ** (n - 1) for n in range(1, attempts))
        most = hanging + worst_case_backoff_s(attempts, BACKOFF_S, resource.max_retry_wait_s) + slowed + SLACK_S
    else:
        least = (attempts - 1) * retry_after_s
        most = least + SLACK_S
    documented = worst_case_request_s(attempts, resource.max_retry_wait_s, resource.connect_timeout_s,
                                      resource.read_timeout_s)

    result, elapsed, span = timed_failure(emu, duck, record_property, least, most, documented, **settings)
    assert not result.success
    assert emu.counters["requests"] == attempts == 6  # page 1, every attempt, nothing more
    assert least - STAMP_LAG_S <= span <= most
    assert elapsed <= documented


def test_the_production_client_backs_off_at_most_18_s_per_request_against_a_fast_failing_api():
    production = JelouResource(client_id="id", client_secret="secret")
    assert worst_case_backoff_s(production.max_attempts, production.retry_backoff_s, production.max_retry_wait_s) == 18.0


def step_retry_delays_s(policy: RetryPolicy) -> tuple[float, float]:
    """Least and most Dagster waits in all between a step's attempts: ((2**n) - 1) * delay +- delay before retry n."""
    least = sum(max(0.0, (2 ** n - 2) * policy.delay) for n in range(1, policy.max_retries + 1))
    most = sum(2 ** n * policy.delay for n in range(1, policy.max_retries + 1))
    return least, most


def test_the_production_step_retries_wait_between_one_and_three_minutes_in_all():
    assert (STEP_RETRY_POLICY.backoff, STEP_RETRY_POLICY.jitter) == (Backoff.EXPONENTIAL, Jitter.PLUS_MINUS)
    assert step_retry_delays_s(STEP_RETRY_POLICY) == (60, 180)


@pytest.mark.slow
def test_a_permanent_500_fails_within_the_worst_case_including_dagster_step_retries(emu, duck, record_property):
    # The production policy's shape with delays of a second, so the test measures Dagster's waits, not sits them out.
    policy = RetryPolicy(max_retries=STEP_RETRY_POLICY.max_retries, delay=1, backoff=STEP_RETRY_POLICY.backoff,
                         jitter=STEP_RETRY_POLICY.jitter)
    emu.config.error_rate = 1.0
    resource = jelou_for(emu, **DEFAULT_CLIENT)
    attempts = policy.max_retries + 1
    backoff = worst_case_backoff_s(resource.max_attempts, BACKOFF_S, resource.max_retry_wait_s)
    least_delays, most_delays = step_retry_delays_s(policy)
    least = attempts * sum(BACKOFF_S * 2 ** (n - 1) for n in range(1, resource.max_attempts)) + least_delays
    most = attempts * (backoff + SLACK_S) + (attempts - 1) * OVERHEAD_S + most_delays
    documented = attempts * worst_case_request_s(resource.max_attempts, resource.max_retry_wait_s,
                                                 resource.connect_timeout_s, resource.read_timeout_s) + most_delays

    result, elapsed, span = timed_failure(emu, duck, record_property, least, most, documented,
                                          raw=raw_conversations_asset(PARTITIONS, policy), **DEFAULT_CLIENT)
    assert not result.success
    assert "the API answered 500 after 6 attempts" in failure_text(result)
    assert emu.counters["requests"] == attempts * resource.max_attempts == 18
    assert least - STAMP_LAG_S <= span <= most
    assert elapsed <= documented


def test_status_faults_and_bad_bodies_share_one_attempt_budget_per_page(emu, duck, record_property):
    # urllib3 retries the 503s and the client re-asks for the cut bodies; were the budgets separate,
    # the page would cost 6 x 6 = 36 requests before failing.
    before = store_then_change_the_api(emu, duck, close_everything)
    emu.config.fault_plan = {n: ("503" if n % 2 else "truncated") for n in FOREVER}
    result = run(emu, duck)
    record_property("requests", emu.counters["requests"])
    assert not result.success
    assert "page 1" in failure_text(result)
    assert emu.counters["requests"] == jelou_for(emu).max_attempts == 6
    after = snapshot(duck)
    for table in TABLES:
        pd.testing.assert_frame_equal(before[table], after[table], obj=table)
