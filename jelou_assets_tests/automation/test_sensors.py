"""Alert sensors evaluated against a real Dagster instance after real materializations, alerts received by a
real local HTTP server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from dagster import DagsterInstance, Definitions, build_sensor_context, materialize

from jelou_assets.alerts.outbox import SensorState
from jelou_assets.alerts.sinks import AlertSinks
from jelou_assets.defs.automation.jobs import jelou_sla_job
from jelou_assets.defs.automation.freshness import freshness_checks
from jelou_assets.settings import Settings
from jelou_assets.defs.automation.sensors import run_failure_alert_sensor as failure_sensor
from jelou_assets.defs.automation.sensors import sla_breach_sensor as breach_sensor
from jelou_assets_tests.support.project import PARTITION_TIMEZONE, conversation_facts, raw_conversations, sla_marts
from jelou_assets.emulator import JelouEmulator
from jelou_assets.sla.dbt_project import dbt_cli_resource
from jelou_assets.warehouse.resource import WarehouseResource
from jelou_assets_tests.support.emulated_api import jelou_for
from jelou_assets_tests.support.postgres import engines_grouped, warehouse_of_its_own
from jelou_assets_tests.support.receiver import Receiver

DAYS = ("2025-03-01", "2025-03-02")
# These tests replay days of 2025; the age limit has its own test below.
sla_breach_sensor = breach_sensor(Settings(alert_max_age_days=36_500))
run_failure_alert_sensor = failure_sensor(Settings())


@pytest.fixture
def webhook():
    receiver = Receiver()
    yield receiver
    receiver.close()


def small_days_emulator() -> JelouEmulator:
    # 60 a day over five teams: some teams fall under the 10-conversation minimum sample.
    return JelouEmulator(per_day=60, seed=5, now=datetime(2025, 3, 20, tzinfo=timezone.utc))


def pipeline_resources(emu, warehouse):
    return {
        "jelou": jelou_for(emu),
        "warehouse": warehouse,
        "dbt": dbt_cli_resource(),
    }


def build(emu, warehouse, instance, first=DAYS[0], last=DAYS[-1]):
    tags = {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}
    assert materialize([raw_conversations, conversation_facts, sla_marts], resources=pipeline_resources(emu, warehouse),
                       tags=tags, instance=instance).success


@dataclass
class BuiltDays:
    warehouse: WarehouseResource
    instance: DagsterInstance
    cursor: str  # the breach sensor's, from before the build: its next tick sees the build's materializations


@pytest.fixture(scope="module", params=engines_grouped("sensors"))
def built_days(request, tmp_path_factory) -> Iterator[BuiltDays]:
    """Both DAYS built from the small emulator on a fresh warehouse, shared by the tests that tick the breach
    sensor once over that build, each with sinks of its own (a tick changes neither the instance nor the warehouse)."""
    with (small_days_emulator() as emu, DagsterInstance.ephemeral() as instance,
          warehouse_of_its_own(request.param, tmp_path_factory, "sensors") as url):
        warehouse = WarehouseResource(url=url)
        warehouse.ensure_tables()
        cursor = tick(sla_breach_sensor, instance, None, warehouse=warehouse, alerts=AlertSinks())  # starts from now
        build(emu, warehouse, instance)
        yield BuiltDays(warehouse, instance, cursor)


def tick(sensor, instance, cursor, **resources):
    return evaluate(sensor, instance, cursor, **resources).cursor


def evaluate(sensor, instance, cursor, **resources):
    context = build_sensor_context(instance=instance, cursor=cursor, resources=resources)
    return sensor.evaluate_tick(context)


def breaches(warehouse, minimum=10) -> set[tuple[str, str]]:
    rows = warehouse.read_frame(sa.text(
        "SELECT partition_date, team_name FROM jelou.team_sla_daily WHERE breached AND conversations >= :m"), {"m": minimum})
    return {(str(d)[:10], t) for d, t in zip(rows["partition_date"], rows["team_name"])}


def alerted(receiver) -> set[tuple[str, str]]:
    return {(b["fields"]["day"], b["fields"]["team"]) for b in receiver.bodies if b["kind"] == "sla_breach"}


def test_each_breach_alerts_once_and_small_samples_never(built_days, webhook):
    warehouse, instance, sinks = built_days.warehouse, built_days.instance, AlertSinks(webhook_url=webhook.url)
    cursor = tick(sla_breach_sensor, instance, built_days.cursor, warehouse=warehouse, alerts=sinks)

    expected = breaches(warehouse)
    small = breaches(warehouse, minimum=0) - expected
    assert expected and small, "the data should hold both kinds of breach for this test to mean anything"
    assert alerted(webhook) == expected and len(webhook.bodies) == len(expected)
    body = webhook.bodies[0]
    assert body["link"].startswith("http://127.0.0.1:3000/assets/team_sla_daily?partition=")
    assert {"sla_attainment", "attainment_goal", "first_reply_p90_s", "sla_target_s", "conversations"} <= set(body["fields"])

    tick(sla_breach_sensor, instance, cursor, warehouse=warehouse, alerts=sinks)
    assert len(webhook.bodies) == len(expected)  # nothing new: no repeat


def test_rematerializing_alerts_again_only_where_the_numbers_changed(warehouse, instance, webhook):
    sinks = AlertSinks(webhook_url=webhook.url)
    with JelouEmulator(per_day=60, seed=5, now=datetime(2025, 3, 1, 18, tzinfo=timezone.utc)) as emu:
        cursor = tick(sla_breach_sensor, instance, None, warehouse=warehouse, alerts=sinks)
        build(emu, warehouse, instance, DAYS[0], DAYS[0])
        cursor = tick(sla_breach_sensor, instance, cursor, warehouse=warehouse, alerts=sinks)
        first = len(webhook.bodies)
        build(emu, warehouse, instance, DAYS[0], DAYS[0])  # same data
        cursor = tick(sla_breach_sensor, instance, cursor, warehouse=warehouse, alerts=sinks)
        assert len(webhook.bodies) == first
        emu.config.now = datetime(2025, 3, 20, tzinfo=timezone.utc)  # open conversations closed since
        build(emu, warehouse, instance, DAYS[0], DAYS[0])
        tick(sla_breach_sensor, instance, cursor, warehouse=warehouse, alerts=sinks)
    assert len(webhook.bodies) > first
    repeated = webhook.bodies[first:]
    assert all(b["kind"] == "sla_breach" for b in repeated)


def test_a_failing_sink_is_retried_on_the_next_tick_without_losing_alerts(built_days, webhook):
    warehouse, instance, sinks = built_days.warehouse, built_days.instance, AlertSinks(webhook_url=webhook.url)
    webhook.failures = 10_000
    cursor = tick(sla_breach_sensor, instance, built_days.cursor, warehouse=warehouse, alerts=sinks)
    assert webhook.bodies == [] and len(SensorState.from_cursor(cursor).pending) == len(breaches(warehouse))
    webhook.failures = 0
    cursor = tick(sla_breach_sensor, instance, cursor, warehouse=warehouse, alerts=sinks)
    assert alerted(webhook) == breaches(warehouse)
    assert SensorState.from_cursor(cursor).pending == []


def test_slack_receives_the_alert_through_dagster_slack(built_days):
    warehouse = built_days.warehouse
    slack = Receiver(slack=True)
    try:
        sinks = AlertSinks(slack_token="xoxb-test", slack_channel="#support-sla", slack_api_url=slack.url + "/api/")
        tick(sla_breach_sensor, built_days.instance, built_days.cursor, warehouse=warehouse, alerts=sinks)
    finally:
        slack.close()
    assert slack.paths and set(slack.paths) == {"/api/chat.postMessage"}
    assert len(slack.bodies) == len(breaches(warehouse))
    assert slack.bodies[0]["channel"] == "#support-sla" and "SLA breach" in slack.bodies[0]["text"]


def test_run_failure_alert_names_the_partition_and_the_error(emulator, warehouse, instance, webhook):
    resources = {**pipeline_resources(emulator, warehouse), "jelou": jelou_for(emulator, client_secret="revoked")}
    definitions = Definitions(assets=[raw_conversations, conversation_facts, sla_marts], jobs=[jelou_sla_job],
                              asset_checks=freshness_checks(Settings())[0], resources=resources)
    sinks = AlertSinks(webhook_url=webhook.url)
    context = build_sensor_context(instance=instance, resources={"alerts": sinks},
                                   repository_def=definitions.get_repository_def())
    cursor = run_failure_alert_sensor.evaluate_tick(context).cursor
    result = definitions.resolve_job_def("jelou_sla_job").execute_in_process(
        partition_key="2025-03-01", instance=instance, raise_on_error=False)
    assert not result.success
    context = build_sensor_context(instance=instance, cursor=cursor, resources={"alerts": sinks},
                                   repository_def=definitions.get_repository_def())
    run_failure_alert_sensor.evaluate_tick(context)
    [alert] = webhook.bodies
    assert alert["kind"] == "run_failure" and alert["fields"]["partition"] == "2025-03-01"
    assert "raw_conversations" in alert["fields"]["error"] and "401" in alert["fields"]["error"]
    assert alert["link"].endswith(result.run_id)


def execute(warehouse, statement, params) -> None:
    with warehouse.engine.begin() as connection:
        connection.execute(statement, params)


def breach_rows(warehouse, minimum=10) -> dict[tuple[str, str], dict]:
    rows = warehouse.read_frame(sa.text(
        "SELECT * FROM jelou.team_sla_daily WHERE breached AND conversations >= :m"), {"m": minimum})
    return {(str(r["partition_date"])[:10], r["team_name"]): r for r in rows.to_dict("records")}


def test_breach_alert_names_met_breached_and_unanswered_and_links_the_conversations(built_days, webhook):
    warehouse, sinks = built_days.warehouse, AlertSinks(webhook_url=webhook.url)
    tick(sla_breach_sensor, built_days.instance, built_days.cursor, warehouse=warehouse, alerts=sinks)
    rows = breach_rows(warehouse)
    assert webhook.bodies and any(row["unanswered"] for row in rows.values())
    for body in webhook.bodies:
        row = rows[(body["fields"]["day"], body["fields"]["team"])]
        assert (f"{row['met']} met, {row['breached_conversations']} breached, {row['unanswered']} unanswered "
                f"({row['pending']} pending, {row['excluded']} excluded) of {row['conversations']} conversations") in body["text"]
        assert {k: body["fields"][k] for k in ("met", "breached_conversations", "unanswered")} == {
            k: int(row[k]) for k in ("met", "breached_conversations", "unanswered")}
        assert body["fields"]["conversations_link"].endswith(f"/assets/conversation_sla?partition={body['fields']['day']}")
        assert body["fields"]["conversations_link"] in body["text"]


def test_a_backfill_of_old_days_pages_no_one_and_the_tick_says_how_many_it_skipped(warehouse, instance, webhook):
    today = datetime.now(ZoneInfo(PARTITION_TIMEZONE)).date()
    first, last = today - timedelta(days=5), today - timedelta(days=2)  # 5 and 4 days old: too old; 3 and 2: alerted
    sensor, sinks = breach_sensor(Settings()), AlertSinks(webhook_url=webhook.url)  # the default: 3 days
    with JelouEmulator(per_day=120, seed=5) as emu:  # the real clock: all four days are over
        cursor = tick(sensor, instance, None, warehouse=warehouse, alerts=sinks)
        build(emu, warehouse, instance, first.isoformat(), last.isoformat())
    result = evaluate(sensor, instance, cursor, warehouse=warehouse, alerts=sinks)
    rows = breach_rows(warehouse)
    age = {key: (today - datetime.strptime(key[0], "%Y-%m-%d").date()).days for key in rows}
    old_breaches = [key for key in rows if age[key] > 3]
    assert old_breaches and any(age[key] <= 3 for key in rows), "the slow teams should breach on both sides of the limit"
    assert alerted(webhook) == {key for key in rows if age[key] <= 3}
    assert f"{len(old_breaches)} breaches skipped on 2 days older than 3 days" in result.skip_message


@contextmanager
def day_kept(warehouse: WarehouseResource, day: str, tables: tuple[str, ...]) -> Iterator[None]:
    """Whatever the block does to `day`'s rows of `tables`, they are as before afterwards (the build is shared)."""
    for table in tables:
        execute(warehouse, sa.text(f"CREATE TABLE jelou.kept_{table} AS SELECT * FROM jelou.{table} WHERE partition_date = :day"),
                {"day": day})
    try:
        yield
    finally:
        for table in tables:
            execute(warehouse, sa.text(f"DELETE FROM jelou.{table} WHERE partition_date = :day"), {"day": day})
            execute(warehouse, sa.text(f"INSERT INTO jelou.{table} SELECT * FROM jelou.kept_{table}"), {})
            execute(warehouse, sa.text(f"DROP TABLE jelou.kept_{table}"), {})


def test_names_from_the_api_are_escaped_for_slack_and_plain_in_the_webhook(built_days, webhook):
    warehouse = built_days.warehouse
    day, team = sorted(breach_rows(warehouse))[0]
    slack = Receiver(slack=True)
    try:
        sinks = AlertSinks(webhook_url=webhook.url, slack_token="xoxb-test", slack_channel="#support-sla",
                           slack_api_url=slack.url + "/api/")
        with day_kept(warehouse, day, ("team_sla_daily", "operator_sla_daily")):
            # names are data the API sends: a team called like a Slack broadcast, an operator like a mention
            for table in ("team_sla_daily", "operator_sla_daily"):
                execute(warehouse, sa.text(f"UPDATE jelou.{table} SET team_name = '<!channel> & co' "
                                          "WHERE partition_date = :day AND team_name = :team"), {"day": day, "team": team})
            execute(warehouse, sa.text("UPDATE jelou.operator_sla_daily SET operator_name = '<@U0LEAD>' "
                                      "WHERE partition_date = :day AND team_name = '<!channel> & co'"), {"day": day})
            tick(sla_breach_sensor, built_days.instance, built_days.cursor, warehouse=warehouse, alerts=sinks)
    finally:
        slack.close()
    [message] = [b["text"] for b in slack.bodies if "&lt;!channel&gt;" in b["text"]]
    assert "<!channel>" not in message and "<@U0LEAD>" not in message
    assert "&lt;!channel&gt; &amp; co" in message and "&lt;@U0LEAD&gt;" in message
    assert "|Open in Dagster>" in message  # our own link stays a link
    [body] = [b for b in webhook.bodies if b["fields"]["team"] == "<!channel> & co"]
    assert body["title"].startswith("SLA breach: <!channel> & co on ") and set(body["fields"]["worst_operators"]) == {"<@U0LEAD>"}


def test_a_bad_alert_age_limit_fails_at_load_naming_the_variable_and_an_example():
    import os
    import subprocess
    import sys

    completed = subprocess.run([sys.executable, "-c", "import jelou_assets.definitions"], capture_output=True, text=True,
                               env={**os.environ, "JELOU_ALERT_MAX_AGE_DAYS": "a week"})
    assert completed.returncode != 0
    assert "JELOU_ALERT_MAX_AGE_DAYS='a week' must be a whole number of at least 1" in completed.stderr
    assert "e.g. 3" in completed.stderr
