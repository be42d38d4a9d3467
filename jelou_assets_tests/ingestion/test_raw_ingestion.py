"""raw_conversations and conversation_facts materialized through Dagster against the emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date

import pandas as pd
from dagster import AssetKey, materialize

from jelou_assets.emulator import JelouEmulator
from jelou_assets_tests.support.project import conversation_facts, raw_conversations
from jelou_assets.settings import PROJECT_ROOT
from jelou_assets.warehouse.resource import WarehouseResource
from jelou_assets_tests.support.emulated_api import jelou_for, stored, truth

DAYS = [date(2025, 3, 1), date(2025, 3, 2), date(2025, 3, 3)]


def materialize_days(emu, warehouse, keys, instance=None, assets=(raw_conversations, conversation_facts)):
    kwargs = {"partition_key": keys[0]} if len(keys) == 1 else {"tags": {
        "dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]}}
    return materialize(list(assets), resources={"jelou": jelou_for(emu), "warehouse": warehouse}, instance=instance, **kwargs)


def test_one_partition_stores_every_record_as_received(emulator, warehouse):
    assert materialize_days(emulator, warehouse, ["2025-03-01"]).success
    raw = stored(warehouse, "raw_conversations")
    expected = {r["_id"]: r for r in truth(emulator, DAYS[0])}
    assert sorted(raw["conversation_id"]) == sorted(expected)
    assert all(json.loads(p) == expected[i] for i, p in zip(raw["conversation_id"], raw["payload"]))
    assert set(pd.to_datetime(raw["partition_date"]).dt.date) == {DAYS[0]}


def test_partition_range_runs_once_and_stores_each_day(emulator, warehouse, instance):
    result = materialize_days(emulator, warehouse, ["2025-03-01", "2025-03-03"], instance=instance)
    assert result.success
    raw = stored(warehouse, "raw_conversations")
    for day in DAYS:
        day_ids = raw.loc[pd.to_datetime(raw["partition_date"]).dt.date == day, "conversation_id"]
        assert sorted(day_ids) == sorted(r["_id"] for r in truth(emulator, day))
    loads = stored(warehouse, "raw_partition_loads", order="partition_date")
    assert list(loads["api_total"]) == list(loads["stored_rows"]) == [120, 120, 120]
    assert len(instance.get_runs()) == 1


def test_each_partition_of_a_range_run_carries_its_own_days_numbers(instance, warehouse):
    # The first day is empty: a run total shown on every partition could not pass for the days' own.
    with JelouEmulator(per_day=40, seed=11, first_day=DAYS[1]) as emu:
        assert materialize_days(emu, warehouse, ["2025-03-01", "2025-03-03"], instance=instance).success
        expected = {day.isoformat(): len(truth(emu, day)) for day in DAYS}
    assert expected == {"2025-03-01": 0, "2025-03-02": 40, "2025-03-03": 40}
    for asset in ("raw_conversations", "conversation_facts"):
        records = instance.fetch_materializations(AssetKey(asset), limit=10).records
        assert {r.partition_key: r.asset_materialization.metadata["rows"].value for r in records} == expected, asset
    loads = stored(warehouse, "raw_partition_loads", order="partition_date")
    raw = {r.partition_key: r.asset_materialization.metadata
           for r in instance.fetch_materializations(AssetKey("raw_conversations"), limit=10).records}
    assert [raw[day.isoformat()]["requests"].value for day in DAYS] == list(loads["requests"])


def test_rematerializing_a_partition_leaves_identical_rows(emulator, warehouse):
    materialize_days(emulator, warehouse, ["2025-03-01"])
    first_raw, first_facts = stored(warehouse, "raw_conversations"), stored(warehouse, "conversation_facts")
    materialize_days(emulator, warehouse, ["2025-03-01"])
    second_raw, second_facts = stored(warehouse, "raw_conversations"), stored(warehouse, "conversation_facts")
    assert len(second_raw) == len(first_raw) == 120
    pd.testing.assert_frame_equal(first_raw.drop(columns="fetched_at"), second_raw.drop(columns="fetched_at"))
    pd.testing.assert_frame_equal(first_facts.drop(columns="fetched_at"), second_facts.drop(columns="fetched_at"))


def test_a_walk_failing_after_page_one_leaves_the_stored_partition_untouched(emulator, warehouse):
    materialize_days(emulator, warehouse, ["2025-03-01"], assets=(raw_conversations,))
    before = stored(warehouse, "raw_conversations")
    emulator.reset_log()
    emulator.config.fault_plan = {2: "401"}  # final, so Dagster's RetryPolicy does not re-run the step
    result = materialize(
        [raw_conversations],
        partition_key="2025-03-01",
        resources={"jelou": jelou_for(emulator), "warehouse": warehouse},
        raise_on_error=False,
    )
    assert not result.success
    assert emulator.counters["200"] >= 1
    pd.testing.assert_frame_equal(before, stored(warehouse, "raw_conversations"))


def test_auth_failure_fails_the_run_once_with_the_fix_in_the_message(emulator, warehouse, instance):
    result = materialize(
        [raw_conversations],
        partition_key="2025-03-01",
        resources={"jelou": jelou_for(emulator, client_secret="not-the-secret"), "warehouse": warehouse},
        instance=instance,
        raise_on_error=False,
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "JELOU_CLIENT_SECRET" in failure.step_failure_data.error.message
    assert "not-the-secret" not in str(failure.step_failure_data.error.to_string())
    assert len(emulator.requests) == 1


def test_facts_have_one_typed_row_per_conversation_in_utc(emulator, warehouse):
    materialize_days(emulator, warehouse, ["2025-03-01"])
    facts = stored(warehouse, "conversation_facts")
    expected = {r["_id"]: r for r in truth(emulator, DAYS[0])}
    assert sorted(facts["conversation_id"]) == sorted(expected)
    row = facts.iloc[0]
    record = expected[row["conversation_id"]]
    # The emulator answers in UTC by default (JELOU_RESPONSE_TIMEZONE=UTC): strings are UTC wall times.
    assert pd.Timestamp(row["started_at"]).strftime("%Y-%m-%d %H:%M:%S") == record["startAt"]
    assert row["team_name"] == record["assignationMethod"]["teamName"]
    assert row["company_id"] == str(record["company"]["id"])
    active = facts[facts["state"] == "active"]
    assert active["ended_at"].isna().all()


def test_cli_materializes_a_partition_configured_only_by_environment(emulator, tmp_path):
    warehouse_file = tmp_path / "cli.duckdb"
    env = {
        **os.environ,
        "JELOU_BASE_URL": emulator.url,
        "JELOU_CLIENT_ID": emulator.config.client_id,
        "JELOU_CLIENT_SECRET": emulator.config.client_secret,
        "JELOU_WAREHOUSE_URL": f"duckdb:///{warehouse_file}",
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
    }
    (tmp_path / "dagster_home").mkdir()
    command = [os.path.join(os.path.dirname(sys.executable), "dagster"), "asset", "materialize",
               "-m", "jelou_assets.definitions", "--select", "*", "--partition", "2025-03-01"]
    completed = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-3000:]
    warehouse = WarehouseResource(url=f"duckdb:///{warehouse_file}")
    assert len(stored(warehouse, "raw_conversations")) == len(truth(emulator, DAYS[0]))


def test_conversations_at_local_midnight_edges_land_in_their_local_day(warehouse):
    # Guayaquil is UTC-5: 23:59:59 local on 1 March is 04:59:59 UTC on 2 March.
    with JelouEmulator(per_day=30, seed=3, timezone="America/Guayaquil", response_timezone="UTC") as emu:
        materialize_days(emu, warehouse, ["2025-03-01", "2025-03-02"])
        first_day, second_day = emu.dataset.day(DAYS[0]), emu.dataset.day(DAYS[1])
    facts = stored(warehouse, "conversation_facts")
    day_of = dict(zip(facts["conversation_id"], pd.to_datetime(facts["partition_date"]).dt.date))
    last_of_first = max(first_day, key=lambda r: r["startAt"])
    first_of_second = min(second_day, key=lambda r: r["startAt"])
    assert last_of_first["startAt"] == "2025-03-02 04:59:59"
    assert first_of_second["startAt"] == "2025-03-02 05:00:00"
    assert day_of[last_of_first["_id"]] == DAYS[0]
    assert day_of[first_of_second["_id"]] == DAYS[1]
