"""The whole pipeline through Dagster (raw -> facts -> dbt marts) against an independent pandas computation
made straight from the emulator's own records, on DuckDB and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pandas as pd
import pytest
import sqlalchemy as sa
from dagster import AssetKey, AssetRecordsFilter, DagsterInstance, ExecuteInProcessResult, materialize

from jelou_assets.emulator import JelouEmulator
from jelou_assets.sla.dbt_project import dbt_cli_resource
from jelou_assets.warehouse.resource import WarehouseResource
from jelou_assets_tests.support.dbt_marts import CALENDARS, MARTS, POLICIES, read_mart
from jelou_assets_tests.support.emulated_api import facts_from_emulator, jelou_for
from jelou_assets_tests.support.postgres import engines_grouped, warehouse_of_its_own
from jelou_assets_tests.support.project import (
    conversation_facts,
    day_window,
    raw_conversations,
    sla_marts,
    team_sla_goal_check,
)
from jelou_assets_tests.support.sla_reference import (
    TEAM_GRAIN,
    TEAM_PERIOD_GRAIN,
    assert_mart_equal,
    normalise,
    reference_conversation_sla,
    reference_team_sla,
)

DAYS = ["2025-03-01", "2025-03-02", "2025-03-03", "2025-03-04"]


def run_pipeline(emu, warehouse, first: str, last: str, instance=None, checks=()):
    tags = {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}
    return materialize(
        [raw_conversations, conversation_facts, sla_marts, *checks],
        resources={
            "jelou": jelou_for(emu),
            "warehouse": warehouse,
            "dbt": dbt_cli_resource(),
        },
        tags=tags,
        instance=instance,
    )


@dataclass
class RangeRun:
    emulator: JelouEmulator
    warehouse: WarehouseResource
    instance: DagsterInstance
    result: ExecuteInProcessResult


@pytest.fixture(scope="module", params=engines_grouped("sla_pipeline"))
def range_run(request, tmp_path_factory) -> Iterator[RangeRun]:
    """One run of all DAYS (raw, facts, marts and the goal check) on a fresh warehouse, shared by the tests that
    only read what such a run leaves: the run is what costs, not the reading."""
    with (JelouEmulator(per_day=120, seed=11) as emu, DagsterInstance.ephemeral() as instance,
          warehouse_of_its_own(request.param, tmp_path_factory, "range_run") as url):
        warehouse = WarehouseResource(url=url)
        warehouse.ensure_tables()
        result = run_pipeline(emu, warehouse, DAYS[0], DAYS[-1], instance, checks=[team_sla_goal_check])
        assert result.success  # a goal check's warning never fails the run
        yield RangeRun(emu, warehouse, instance, result)


def test_marts_equal_an_independent_computation_from_the_emulators_data(range_run):
    emulator, warehouse = range_run.emulator, range_run.warehouse
    facts = facts_from_emulator(emulator, DAYS, warehouse)
    assert len(facts) == 4 * 120
    statuses = reference_conversation_sla(facts, POLICIES, CALENDARS)["sla_status"]
    assert 0.05 <= facts["first_reply_ms"].isna().mean() <= 0.15, "the emulator's share of never-replied conversations"
    assert {"met", "breached", "excluded"} <= set(statuses)
    for name, (grain, reference) in MARTS.items():
        assert_mart_equal(read_mart(warehouse, name), normalise(reference(facts, POLICIES, CALENDARS), grain), grain)


def test_a_later_run_keeps_dbt_partial_parsing_and_no_good_run_leaves_a_target_directory(
        emulator, warehouse, instance, tmp_path, monkeypatch, capfd):
    # A target path of the test's own: runs on other test workers parse for other warehouses.
    target = tmp_path / "target"
    monkeypatch.setenv("DBT_TARGET_PATH", str(target))
    assert run_pipeline(emulator, warehouse, DAYS[0], DAYS[0], instance).success
    capfd.readouterr()
    assert run_pipeline(emulator, warehouse, DAYS[1], DAYS[1], instance).success  # another window, same parse
    output = "".join(capfd.readouterr())
    assert "partial_parse.msgpack" in output, "dbt's output is not where this test looks"
    assert "Unable to do partial parsing" not in output
    assert [path.name for path in target.iterdir()] == ["partial_parse.msgpack"]


def test_conversation_sla_holds_each_conversation_with_the_reference_status(range_run):
    emulator, warehouse = range_run.emulator, range_run.warehouse
    expected = reference_conversation_sla(facts_from_emulator(emulator, DAYS, warehouse), POLICIES, CALENDARS)
    actual = warehouse.read_frame(sa.text("SELECT conversation_id, sla_status, sla_reason FROM jelou.conversation_sla"))
    assert dict(zip(actual["conversation_id"], actual["sla_status"])) == dict(zip(expected["conversation_id"], expected["sla_status"]))


def test_dbt_tests_are_recorded_as_passing_asset_checks(range_run):
    evaluations = range_run.result.get_asset_check_evaluations()
    dbt_checks = {(e.asset_key.to_user_string(), e.check_name): e.passed for e in evaluations
                  if e.check_name != "sla_attainment_meets_goal"}  # ours, not a dbt test: it warns on breaches
    assert any(key[0] == "team_sla_daily" for key in dbt_checks)
    assert any(key[0] == "operator_sla_daily" for key in dbt_checks)
    assert all(dbt_checks.values()), {k: v for k, v in dbt_checks.items() if not v}


def test_mart_materializations_carry_breach_numbers_for_the_ui(range_run):
    event = range_run.instance.get_latest_materialization_event(AssetKey("team_sla_daily"))
    metadata = event.asset_materialization.metadata
    breached = range_run.warehouse.read_frame(
        sa.text("SELECT count(*) AS n FROM jelou.team_sla_daily WHERE breached AND partition_date = :day"),
        {"day": date.fromisoformat(event.asset_materialization.partition)},
    )
    assert metadata["teams_breached"].value == int(breached["n"].iloc[0])
    assert metadata["worst_first_reply_p90_s"].value > 0


def materializations_by_day(instance, asset: str) -> dict[str, dict]:
    records = instance.fetch_materializations(AssetRecordsFilter(asset_key=AssetKey(asset)), limit=100).records
    return {record.partition_key: record.asset_materialization.metadata for record in records}


def test_each_day_of_a_range_run_carries_its_own_numbers_and_team_table(range_run):
    emulator, warehouse, instance = range_run.emulator, range_run.warehouse, range_run.instance
    raw = materializations_by_day(instance, "raw_conversations")
    teams = materializations_by_day(instance, "team_sla_daily")
    mart = warehouse.read_frame(sa.text("SELECT partition_date, team_name, breached, sla_attainment FROM jelou.team_sla_daily"))
    mart["day"] = pd.to_datetime(mart["partition_date"]).dt.strftime("%Y-%m-%d")
    assert set(raw) == set(teams) == set(DAYS)
    for day in DAYS:
        assert raw[day]["rows"].value == len(emulator.dataset.conversations_between(*day_window(date.fromisoformat(day))))
        own = mart[mart["day"] == day]
        assert teams[day]["rows"].value == len(own)
        assert teams[day]["teams_breached"].value == int(own["breached"].sum())
        table = teams[day]["sla_table"].value
        assert sorted(record.data["team"] for record in table.records) == sorted(own["team_name"])
        statuses = [record.data["status"] for record in table.records]
        assert statuses == sorted(statuses), "breached teams first"
        for team, attainment in zip(own["team_name"], own["sla_attainment"]):
            if pd.notna(attainment):
                assert teams[day][f"attainment / {team}"].value == round(attainment, 4)


def test_rerun_after_active_conversations_closed_updates_the_marts_without_duplicates(warehouse, instance):
    from datetime import datetime, timezone

    # The emulator's clock sits inside the day: conversations still open then are served as active.
    early = datetime(2025, 3, 1, 20, 0, tzinfo=timezone.utc)
    with JelouEmulator(per_day=120, seed=11, now=early) as emu:
        run_pipeline(emu, warehouse, DAYS[0], DAYS[0], instance)
        first = read_mart(warehouse, "team_sla_daily")
        emu.config.now = datetime(2025, 3, 10, tzinfo=timezone.utc)
        run_pipeline(emu, warehouse, DAYS[0], DAYS[0], instance)
        second = read_mart(warehouse, "team_sla_daily")
        expected = normalise(reference_team_sla(facts_from_emulator(emu, DAYS[:1], warehouse), POLICIES, CALENDARS), TEAM_GRAIN)
    assert first["active"].sum() > second["active"].sum()
    assert list(second["team_name"]) == list(first["team_name"])  # same grain, no duplicate rows
    assert_mart_equal(second, expected, TEAM_GRAIN)


def test_goal_check_warns_per_day_with_exactly_the_breached_teams(range_run):
    warehouse, result = range_run.warehouse, range_run.result
    goal = {e.partition: e for e in result.get_asset_check_evaluations() if e.check_name == "sla_attainment_meets_goal"}
    assert set(goal) == set(DAYS)
    breached = warehouse.read_frame(sa.text("SELECT partition_date, team_name FROM jelou.team_sla_daily WHERE breached"))
    for day, evaluation in goal.items():
        teams = sorted(t for d, t in zip(breached["partition_date"], breached["team_name"]) if str(d)[:10] == day)
        assert evaluation.passed == (not teams)
        assert evaluation.severity.value == "WARN"
        assert evaluation.metadata["teams_breached"].value == len(teams)
        assert all(team in evaluation.description for team in teams)


def test_refreshing_late_days_rebuilds_the_weeks_and_months_holding_them(warehouse, instance):
    """What the late-arrival refresh does: re-materialize some days. Their weeks and months are recomputed
    from all their days' conversations; a week none of them is in stays as it was."""
    from datetime import datetime, timezone

    # 20:00 local on 4 March: the last days still have open conversations, served as active.
    with JelouEmulator(per_day=120, seed=11, now=datetime(2025, 3, 5, 1, 0, tzinfo=timezone.utc)) as emu:
        assert run_pipeline(emu, warehouse, DAYS[0], DAYS[-1], instance).success
        first_load = facts_from_emulator(emu, DAYS, warehouse)
        weekly_before = read_mart(warehouse, "team_sla_weekly")
        emu.config.now = datetime(2025, 3, 20, tzinfo=timezone.utc)
        assert run_pipeline(emu, warehouse, DAYS[2], DAYS[3], instance).success  # Monday 3 and Tuesday 4 March
        refreshed = facts_from_emulator(emu, DAYS[2:], warehouse)
    facts = pd.concat([first_load[first_load["partition_date"].isin(
        [date.fromisoformat(d) for d in DAYS[:2]])], refreshed], ignore_index=True)
    for name, (grain, reference) in MARTS.items():
        assert_mart_equal(read_mart(warehouse, name), normalise(reference(facts, POLICIES, CALENDARS), grain), grain)
    weekly_after = read_mart(warehouse, "team_sla_weekly")
    this_week = date(2025, 3, 3)
    assert weekly_after.loc[weekly_after["period_start"] == this_week, "active"].sum() < \
        weekly_before.loc[weekly_before["period_start"] == this_week, "active"].sum()
    last_week = weekly_before["period_start"] < this_week
    assert_mart_equal(weekly_after[weekly_after["period_start"] < this_week].reset_index(drop=True),
                      weekly_before[last_week].reset_index(drop=True), TEAM_PERIOD_GRAIN)
