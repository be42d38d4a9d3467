"""Customers' ids stay out of the analytical tables and out of old raw payloads; runs cannot skip it."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import sqlalchemy as sa
from dagster import EnvVar, materialize

from jelou_assets.emulator import JelouEmulator
from jelou_assets_tests.support.project import PARTITION_TIMEZONE, conversation_facts, raw_conversations
from jelou_assets.privacy.pseudonyms import DEMO_PSEUDONYM_KEY, user_keys
from jelou_assets.defs.privacy.raw_retention import raw_retention, redact_payload
from jelou_assets.defs.resources import jelou_resource
from jelou_assets.settings import PROJECT_ROOT, Settings
from jelou_assets.warehouse import tables
from jelou_assets_tests.support.emulated_api import jelou_for

DAYS = ["2025-03-01", "2025-03-02", "2025-03-03"]


def run_days(emu, warehouse, first: str, last: str, jelou=None):
    return materialize(
        [raw_conversations, conversation_facts], raise_on_error=False,
        resources={"jelou": jelou or jelou_for(emu), "warehouse": warehouse},
        tags={"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last},
    )


def customer_ids(emu: JelouEmulator) -> set[str]:
    """Every customer id the emulator serves for DAYS (and the day around them)."""
    first = datetime.fromisoformat(DAYS[0]).replace(tzinfo=ZoneInfo("UTC")) - timedelta(days=1)
    return {c.user_id for c in emu.dataset.window(first.timestamp(), first.timestamp() + 6 * 86_400).conversations()}


def read(warehouse, table: sa.Table) -> pd.DataFrame:
    order = [table.c.partition_date] + ([table.c.conversation_id] if "conversation_id" in table.c else [])
    return warehouse.read_frame(sa.select(table).order_by(*order))


def sorted_facts(warehouse) -> pd.DataFrame:
    facts = read(warehouse, tables.conversation_facts)
    return facts.sort_values("conversation_id").reset_index(drop=True)


def test_facts_hold_a_keyed_pseudonym_of_each_customer_never_the_id(emulator, warehouse):
    assert run_days(emulator, warehouse, DAYS[0], DAYS[0]).success
    facts = sorted_facts(warehouse)
    served = {r["_id"]: r["user"]["id"] for r in emulator.dataset.day(date(2025, 3, 1))}
    expected = {cid: hmac.new(DEMO_PSEUDONYM_KEY.encode(), uid.encode(), hashlib.sha256).hexdigest()
                for cid, uid in served.items()}
    assert dict(zip(facts["conversation_id"], facts["user_key"])) == expected
    assert "user_id" not in facts.columns
    assert not set(facts.astype(str).to_numpy().ravel()) & customer_ids(emulator)


def test_the_same_customer_gets_the_same_key_and_another_key_gives_other_keys():
    assert user_keys(["593912345678", "593912345678"], "k1") == [user_keys(["593912345678"], "k1")[0]] * 2
    assert user_keys(["593912345678"], "k1") != user_keys(["593912345678"], "k2")
    assert user_keys([None], "k1") == [None]


def test_a_run_against_a_real_api_without_the_key_fails_at_start_before_any_request(warehouse, monkeypatch):
    # 127.0.0.2 is this machine but not the bundled emulator's address: the project treats it as a real API.
    with JelouEmulator(host="127.0.0.2", per_day=10) as emu:
        monkeypatch.setenv("JELOU_BASE_URL", emu.url)
        monkeypatch.setenv("JELOU_CLIENT_ID", "demo")
        monkeypatch.setenv("JELOU_CLIENT_SECRET", "demo-secret")
        monkeypatch.delenv("JELOU_PSEUDONYM_KEY", raising=False)
        result = run_days(emu, warehouse, DAYS[0], DAYS[0], jelou=jelou_resource(Settings.from_env()))
        assert emu.counters["requests"] == 0
    assert not result.success
    failure = next(e for e in result.all_events if e.is_failure)
    message = str(failure.event_specific_data.error)
    assert "JELOU_PSEUDONYM_KEY" in message and "secrets.token_urlsafe(32)" in message


def test_the_configured_key_is_bound_as_a_secret_and_used(warehouse, monkeypatch):
    with JelouEmulator(host="127.0.0.2", per_day=10) as emu:
        for name, value in {"JELOU_BASE_URL": emu.url, "JELOU_CLIENT_ID": "demo", "JELOU_CLIENT_SECRET": "demo-secret",
                            "JELOU_PSEUDONYM_KEY": "a-real-accounts-key"}.items():
            monkeypatch.setenv(name, value)
        resource = jelou_resource(Settings.from_env())
        assert isinstance(resource.pseudonym_key, EnvVar)  # resolved only inside a run, never shown in the UI
        assert run_days(emu, warehouse, DAYS[0], DAYS[0], jelou=resource).success
        one = emu.dataset.day(date(2025, 3, 1))[0]
    facts = sorted_facts(warehouse)
    assert user_keys([one["user"]["id"]], "a-real-accounts-key")[0] in set(facts["user_key"])


def test_redacting_a_payload_keeps_everything_but_the_customers_id():
    record = {"_id": "x", "user": {"id": "593912345678", "name": "kept"}, "operator": {"names": "Ana"}, "state": "closed"}
    redacted = json.loads(redact_payload(json.dumps(record), "k"))
    assert redacted == {"_id": "x", "user": {"name": "kept", "pseudonym": user_keys(["593912345678"], "k")[0]},
                        "operator": {"names": "Ana"}, "state": "closed"}
    assert redact_payload(json.dumps(redacted), "k") is None  # nothing left to redact
    assert redact_payload('{"_id": "y"}', "k") is None


def retention_run(warehouse, emu, retention_days: int):
    job, _ = raw_retention(Settings(raw_retention_days=retention_days))
    return job.execute_in_process(resources={"warehouse": warehouse, "jelou": jelou_for(emu)})


def days_before_today(day: str) -> int:
    return (datetime.now(ZoneInfo(PARTITION_TIMEZONE)).date() - date.fromisoformat(day)).days


def test_retention_redacts_old_days_only_and_a_later_run_refetches_them(emulator, warehouse):
    assert run_days(emulator, warehouse, DAYS[0], DAYS[-1]).success
    before_raw = read(warehouse, tables.raw_conversations)
    # Days strictly older than the retention: the first two.
    assert retention_run(warehouse, emulator, days_before_today(DAYS[-1])).success

    raw = read(warehouse, tables.raw_conversations)
    old = pd.to_datetime(raw["partition_date"]).dt.date.astype(str).isin(DAYS[:2])
    ids = customer_ids(emulator)
    assert not any(uid in payload for payload in raw.loc[old, "payload"] for uid in ids)
    assert list(raw.loc[~old, "payload"]) == list(before_raw.loc[~old, "payload"])  # the recent day is as received
    loads = read(warehouse, tables.raw_partition_loads)
    assert list(loads["redacted_records"].fillna(-1)) == [120, 120, -1]
    assert loads["redacted_at"].notna().tolist() == [True, True, False]

    assert run_days(emulator, warehouse, DAYS[0], DAYS[-1]).success is True  # refetches: fresh personal data
    assert read(warehouse, tables.raw_partition_loads)["redacted_at"].isna().all()


def test_facts_rebuilt_from_redacted_raw_are_identical(emulator, warehouse):
    assert run_days(emulator, warehouse, DAYS[0], DAYS[0]).success
    before = sorted_facts(warehouse)
    assert retention_run(warehouse, emulator, days_before_today(DAYS[0]) - 1).success
    result = materialize([conversation_facts], partition_key=DAYS[0],
                         resources={"jelou": jelou_for(emulator), "warehouse": warehouse})
    assert result.success
    pd.testing.assert_frame_equal(sorted_facts(warehouse), before)


def test_retention_is_idempotent_and_off_at_zero(emulator, warehouse):
    assert run_days(emulator, warehouse, DAYS[0], DAYS[0]).success
    assert retention_run(warehouse, emulator, 0).success
    assert read(warehouse, tables.raw_partition_loads)["redacted_at"].isna().all()  # 0 = off
    days = days_before_today(DAYS[0]) - 1
    assert retention_run(warehouse, emulator, days).success
    first = read(warehouse, tables.raw_partition_loads), read(warehouse, tables.raw_conversations)
    assert retention_run(warehouse, emulator, days).success
    second = read(warehouse, tables.raw_partition_loads), read(warehouse, tables.raw_conversations)
    pd.testing.assert_frame_equal(first[0], second[0])  # the day was not redacted twice
    pd.testing.assert_frame_equal(first[1], second[1])


def test_no_customer_id_reaches_the_instance_the_output_or_any_table(emulator, tmp_path):
    # One engine is enough here: what reaches each table is the same on both (the tests above, on both).
    home, warehouse_url = tmp_path / "home", f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    home.mkdir()
    env = {**os.environ, "DAGSTER_HOME": str(home), "JELOU_BASE_URL": emulator.url, "JELOU_CLIENT_ID": "demo",
           "JELOU_CLIENT_SECRET": "demo-secret", "JELOU_WAREHOUSE_URL": warehouse_url,
           "JELOU_RAW_RETENTION_DAYS": str(days_before_today(DAYS[0]) - 1)}
    dagster = str(Path(sys.executable).parent / "dagster")
    commands = [
        [dagster, "asset", "materialize", "-m", "jelou_assets.definitions", "--select", "*", "--partition", DAYS[0]],
        [dagster, "job", "execute", "-m", "jelou_assets.definitions", "-j", "raw_retention_job"],
    ]
    outputs = []
    for command in commands:
        done = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, timeout=900)
        assert done.returncode == 0, done.stderr[-3000:]
        outputs += [done.stdout, done.stderr]
    ids = {uid.encode() for uid in customer_ids(emulator)}
    assert ids
    for output in outputs:
        assert not any(uid in output for uid in ids)
    for path in home.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert not any(uid in content for uid in ids), path
    from jelou_assets.warehouse.resource import WarehouseResource

    warehouse = WarehouseResource(url=warehouse_url)
    names = warehouse.read_frame(sa.text(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'jelou'"))["table_name"]
    assert "conversation_facts" in set(names)
    for name in names:  # raw included: the day is past the retention and was redacted
        values = [str(value) for value in warehouse.read_frame(sa.text(f'SELECT * FROM jelou."{name}"')).to_numpy().ravel()]
        assert not any(uid.decode() in value for value in values for uid in ids), name


def test_a_warehouse_from_before_pseudonyms_loses_its_customer_ids_at_run_start(warehouse_url):
    from jelou_assets.warehouse.resource import WarehouseResource

    engine = sa.create_engine(WarehouseResource(url=warehouse_url).parsed_url)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP SCHEMA IF EXISTS jelou CASCADE"))
        connection.execute(sa.text("CREATE SCHEMA jelou"))
        connection.execute(sa.text(
            "CREATE TABLE jelou.conversation_facts (conversation_id varchar NOT NULL, partition_date date NOT NULL, "
            "started_at timestamp, ended_at timestamp, state varchar, ended_reason varchar, origin varchar, "
            "operator_name varchar, team_name varchar, bot_name varchar, company_id varchar, user_id varchar, "
            "first_reply_ms bigint, duration_ms bigint, sanity_flag varchar, fetched_at timestamp NOT NULL)"))
        connection.execute(sa.text("CREATE INDEX conversation_facts_partition_date ON jelou.conversation_facts (partition_date)"))
        connection.execute(sa.text("INSERT INTO jelou.conversation_facts (conversation_id, partition_date, user_id, fetched_at) "
                                   "VALUES ('c1', '2025-03-01', '593912345678', '2025-03-02 00:00:00')"))
    engine.dispose()
    warehouse = WarehouseResource(url=warehouse_url)
    warehouse.ensure_tables()
    facts = warehouse.read_frame(sa.text("SELECT * FROM jelou.conversation_facts"))
    assert "user_id" not in facts.columns and {"user_key", "team_source"} <= set(facts.columns)
    assert list(facts["conversation_id"]) == ["c1"]  # the rest of the row stays
    warehouse.ensure_tables()  # and again: nothing left to change
