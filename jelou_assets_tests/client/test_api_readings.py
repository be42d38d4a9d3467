"""Every answer the API documentation allows lands exactly, through Dagster, on DuckDB and PostgreSQL.

The documentation is ambiguous (empty pages, timestamp form and zone, where the team is, letter case,
pagination fields); the emulator serves each reading behind a switch. The expected facts come from the
emulator's own conversations (instants, teams, states as generated), never from the text it served, so a
test cannot pass just because the reader and the emulator share a reading.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import sqlalchemy as sa
from dagster import materialize

from jelou_assets_tests.support.project import (
    PARTITION_TIMEZONE,
    conversation_facts,
    conversation_facts_checks,
    conversation_facts_sanity_check,
    raw_conversations,
    raw_conversations_checks,
)
from jelou_assets.emulator import JelouEmulator
from jelou_assets.warehouse.resource import WarehouseResource
from jelou_assets_tests.support.emulated_api import jelou_for
from jelou_assets_tests.support.crash_helpers import pipeline_env, run_to_completion

PIPELINE = [raw_conversations, raw_conversations_checks, conversation_facts, conversation_facts_checks,
            conversation_facts_sanity_check]
FIRST, LAST = date(2025, 3, 1), date(2025, 3, 2)
FACT_COLUMNS = ["conversation_id", "partition_date", "started_at", "ended_at", "state", "team_name", "team_source",
                "first_reply_ms"]

# Each reading on its own; the empty-day readings leave the first day without conversations.
READINGS = {
    "empty_day_with_total_pages_1": {"first_day": LAST, "empty_total_pages": 1},
    "empty_day_with_total_pages_0": {"first_day": LAST, "empty_total_pages": 0},
    "empty_day_without_results": {"first_day": LAST, "empty_total_pages": 1, "empty_results": "missing"},
    "empty_day_with_null_results": {"first_day": LAST, "empty_results": "null"},
    "iso_timestamps_in_utc": {"timestamp_form": "iso-utc"},
    "iso_timestamps_with_the_accounts_offset": {"timestamp_form": "iso-offset"},
    "team_only_under_operator": {"team_field": "operator"},
    "upper_case_states": {"upper_case_states": True, "type_drift": True},
    "pagination_as_strings_without_page_offset_or_links": {
        "pagination_as_strings": True, "omit_pagination_page": True, "omit_offset": True, "omit_links": True},
}


def expected_facts(emu: JelouEmulator, first: date, last: date, timezone: str) -> pd.DataFrame:
    """The conversations the server holds from `first` to `last`, each in the local day of its start."""
    zone = ZoneInfo(timezone)
    begin = datetime.combine(first, datetime.min.time(), zone).timestamp()
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), zone).timestamp() - 1
    window = emu.dataset.window(begin, end)
    rows = []
    for c in window.conversations():
        closed = c.end <= window.now
        team_source = "operator.team" if emu.config.team_field == "operator" else "assignationMethod.teamName"
        rows.append({
            "conversation_id": c.id,
            "partition_date": datetime.fromtimestamp(c.start, zone).date(),
            "started_at": datetime.fromtimestamp(c.start, UTC).replace(tzinfo=None),
            "ended_at": datetime.fromtimestamp(c.end, UTC).replace(tzinfo=None) if closed else None,
            "team_name": c.team,
            "team_source": team_source,
        })
    return pd.DataFrame(rows, columns=["conversation_id", "partition_date", "started_at", "ended_at", "team_name",
                                       "team_source"])


def stored_facts(warehouse) -> pd.DataFrame:
    facts = warehouse.read_frame(sa.text(f"SELECT {', '.join(FACT_COLUMNS)} FROM jelou.conversation_facts"))
    facts["partition_date"] = pd.to_datetime(facts["partition_date"]).dt.date
    return facts


def assert_facts_match(stored: pd.DataFrame, expected: pd.DataFrame) -> None:
    columns = list(expected.columns)
    left = stored[columns].sort_values("conversation_id").reset_index(drop=True)
    right = expected.sort_values("conversation_id").reset_index(drop=True)
    for column in ("started_at", "ended_at"):
        left[column] = pd.to_datetime(left[column])
        right[column] = pd.to_datetime(right[column])
    pd.testing.assert_frame_equal(left, right, check_dtype=False)


@pytest.fixture
def duckdb_warehouse(tmp_path) -> WarehouseResource:
    """Each reading on its own needs one warehouse; the backfill below covers them all on both."""
    resource = WarehouseResource(url=f"duckdb:///{tmp_path / 'warehouse.duckdb'}")
    resource.ensure_tables()
    return resource


def run_days(emu: JelouEmulator, warehouse, instance):
    return materialize(
        PIPELINE, instance=instance, raise_on_error=False,
        resources={"jelou": jelou_for(emu), "warehouse": warehouse},
        tags={"dagster/asset_partition_range_start": FIRST.isoformat(),
              "dagster/asset_partition_range_end": LAST.isoformat()},
    )


@pytest.mark.parametrize("reading", list(READINGS))
def test_each_documented_reading_lands_exactly_with_every_check_passing(reading, duckdb_warehouse, instance):
    warehouse = duckdb_warehouse
    with JelouEmulator(per_day=60, seed=5, **READINGS[reading]) as emu:
        result = run_days(emu, warehouse, instance)
        expected = expected_facts(emu, FIRST, LAST, PARTITION_TIMEZONE)
    assert result.success
    checks = result.get_asset_check_evaluations()
    assert checks and all(e.passed for e in checks if e.severity.value == "ERROR"), [
        (e.check_name, e.partition, e.description) for e in checks if not e.passed]
    assert {e.partition for e in checks} == {FIRST.isoformat(), LAST.isoformat()}
    assert_facts_match(stored_facts(warehouse), expected)


@pytest.mark.parametrize("reading", [r for r in READINGS if r.startswith("empty_day")])
def test_an_empty_day_is_a_written_partition_with_zero_rows_and_its_load_record(reading, duckdb_warehouse, instance):
    warehouse = duckdb_warehouse
    with JelouEmulator(per_day=60, seed=5, **READINGS[reading]) as emu:
        assert run_days(emu, warehouse, instance).success
        requests = [r for r in emu.requests if r["body"] and r["body"]["startAt"].startswith(FIRST.isoformat())]
    loads = warehouse.read_frame(sa.text("SELECT * FROM jelou.raw_partition_loads ORDER BY partition_date"))
    empty = loads.iloc[0]
    assert pd.Timestamp(empty["partition_date"]).date() == FIRST
    assert (empty["api_total"], empty["stored_rows"], empty["pages"], empty["walks"]) == (0, 0, 1, 1)
    assert len(requests) == 1  # one page said the day is empty: no re-walk, no retry
    assert loads.iloc[1]["stored_rows"] == 60


def test_upper_case_and_undocumented_states_are_stored_lower_cased_and_counted(duckdb_warehouse, instance):
    warehouse = duckdb_warehouse
    with JelouEmulator(per_day=60, seed=5, upper_case_states=True, type_drift=True) as emu:
        result = run_days(emu, warehouse, instance)
        generated = expected_facts(emu, FIRST, LAST, PARTITION_TIMEZONE)
    facts = stored_facts(warehouse)
    assert set(facts["state"]) >= {"closed", "resolved", "expired", "transferred"}
    assert facts["state"].str.islower().all()
    per_day = {m.partition: m.metadata["unknown_states"].value
               for m in result.asset_materializations_for_node("conversation_facts")}
    stored = facts[facts["state"] == "transferred"].groupby("partition_date").size()
    assert per_day == {day.isoformat(): int(stored.get(day, 0)) for day in (FIRST, LAST)} and sum(per_day.values()) > 0
    assert len(generated) == len(facts)



# America/Santiago: DST ends at midnight on 5 April 2025 (24:00 -03 becomes 23:00 -04), so that day has 25 hours
# and 23:00-23:59 twice. The backfill's first ten days come before the account's first conversation.
SANTIAGO = "America/Santiago"
BACKFILL = (date(2025, 3, 20), date(2025, 4, 18))
FIRST_CONVERSATIONS = date(2025, 3, 30)
DST_DAY = date(2025, 4, 5)
# Every reading at once, split between the two warehouses; the naive form is every other test's default.
BACKFILL_READINGS = {
    "duckdb": {"timestamp_form": "iso-offset", "team_field": "operator", "upper_case_states": True,
               "empty_total_pages": 1, "pagination_as_strings": True, "omit_pagination_page": True,
               "omit_offset": True, "omit_links": True},
    "postgresql": {"timestamp_form": "iso-utc", "team_field": "operator", "upper_case_states": True,
                   "empty_total_pages": 1, "empty_results": "missing"},
}


def per_day(warehouse: WarehouseResource, statement: str) -> dict[date, int]:
    frame = warehouse.read_frame(sa.text(statement))
    return {pd.Timestamp(day).date(): int(n) for day, n in zip(frame["partition_date"], frame["n"])}


def test_a_30_day_backfill_across_empty_days_and_a_dst_change_at_midnight_lands_exactly(warehouse_url, tmp_path):
    warehouse = WarehouseResource(url=warehouse_url)
    readings = BACKFILL_READINGS[warehouse.dialect]
    with JelouEmulator(per_day=60, seed=13, timezone=SANTIAGO, first_day=FIRST_CONVERSATIONS, **readings) as emu:
        (tmp_path / "home").mkdir()
        env = {**pipeline_env(emu.url, warehouse_url, tmp_path / "home"), "JELOU_TIMEZONE": SANTIAGO,
               "JELOU_PARTITIONS_START": "2025-01-01", "JELOU_PAGE_SIZE": "50",
               # A wrong zone for naive strings: ISO timestamps name their instant, so it must not apply.
               "JELOU_RESPONSE_TIMEZONE": "Asia/Tokyo"}
        run_to_completion(env, *BACKFILL, tmp_path / "run.log")
        held = expected_facts(emu, *BACKFILL, SANTIAGO)

    raw = warehouse.read_frame(sa.text("SELECT conversation_id, partition_date FROM jelou.raw_conversations"))
    assert Counter(Counter(raw["conversation_id"]).values()) == {1: len(held)}  # each in exactly one partition
    landed = dict(zip(raw["conversation_id"], pd.to_datetime(raw["partition_date"]).dt.date))
    assert landed == dict(zip(held["conversation_id"], held["partition_date"]))
    repeated_hour = held[(held["started_at"] >= datetime(2025, 4, 6, 3)) & (held["started_at"] < datetime(2025, 4, 6, 4))]
    assert len(repeated_hour) > 0 and set(repeated_hour["partition_date"]) == {DST_DAY}

    days = [BACKFILL[0] + timedelta(days=n) for n in range((BACKFILL[1] - BACKFILL[0]).days + 1)]
    held_per_day = Counter(held["partition_date"])
    expected = {day: held_per_day.get(day, 0) for day in days}
    assert all(expected[day] == 0 for day in days[:10]) and all(expected[day] > 0 for day in days[10:])
    group = "SELECT partition_date, {n} AS n FROM jelou.{table} GROUP BY partition_date"
    loads = per_day(warehouse, "SELECT partition_date, stored_rows AS n FROM jelou.raw_partition_loads")
    assert loads == expected  # every day has its load record, the empty ones with 0 rows
    assert per_day(warehouse, group.format(n="count(*)", table="raw_conversations")) == held_per_day
    assert per_day(warehouse, group.format(n="count(*)", table="conversation_facts")) == held_per_day
    assert per_day(warehouse, group.format(n="sum(conversations)", table="team_sla_daily")) == held_per_day
    facts = stored_facts(warehouse)
    assert_facts_match(facts[facts["partition_date"] >= FIRST_CONVERSATIONS], held)
