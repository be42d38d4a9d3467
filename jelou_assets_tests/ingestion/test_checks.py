"""Data-quality checks recorded per day, blocking where the data cannot be trusted."""

from __future__ import annotations

import json
from datetime import date

import pytest
import sqlalchemy as sa
from dagster import AssetCheckKey, AssetKey, AssetSelection, Definitions, define_asset_job, materialize

from jelou_assets_tests.support.project import (
    conversation_facts,
    conversation_facts_checks,
    conversation_facts_sanity_check,
    raw_conversations,
    raw_conversations_checks,
)
from jelou_assets_tests.support.emulated_api import jelou_for

PIPELINE = [raw_conversations, raw_conversations_checks, conversation_facts, conversation_facts_checks, conversation_facts_sanity_check]
RANGE = {"dagster/asset_partition_range_start": "2025-03-01", "dagster/asset_partition_range_end": "2025-03-03"}


def run(emu, warehouse, instance, selection=None, **kwargs):
    return materialize(
        PIPELINE, selection=selection, instance=instance, raise_on_error=False,
        resources={"jelou": jelou_for(emu), "warehouse": warehouse}, **kwargs,
    )


def history(instance, asset: str, check: str) -> dict[str, str]:
    """Each partition's latest check status, as the UI names it ("SUCCEEDED", "FAILED")."""
    records = instance.event_log_storage.get_asset_check_execution_history(AssetCheckKey(AssetKey(asset), check), limit=100)
    return {r.partition: r.status.value for r in reversed(records)}


def latest_metadata(instance, asset: str, check: str) -> dict:
    record = instance.event_log_storage.get_asset_check_execution_history(AssetCheckKey(AssetKey(asset), check), limit=1)[0]
    return {k: v.value for k, v in record.event.dagster_event.event_specific_data.metadata.items()}


def execute(warehouse, statement: str, **params) -> None:
    with warehouse.connect() as connection:
        connection.execute(sa.text(statement), params)
        connection.commit()


PASSED, FAILED = "SUCCEEDED", "FAILED"


def test_good_partition_passes_every_check_with_its_numbers(emulator, warehouse, instance):
    assert run(emulator, warehouse, instance, partition_key="2025-03-01").success
    for asset, check in [("raw_conversations", "stored_matches_api_total"), ("raw_conversations", "unique_conversation_ids"),
                         ("conversation_facts", "matches_raw_conversations"), ("conversation_facts", "keys_not_null"),
                         ("conversation_facts", "no_sanity_flags")]:
        assert history(instance, asset, check) == {"2025-03-01": PASSED}, check
    assert latest_metadata(instance, "raw_conversations", "stored_matches_api_total") == {
        "distinct_ids": 120, "api_total": 120, "pages": 3, "rewalks": 0, "requests": 3}


def test_range_backfill_records_one_result_per_day(emulator, warehouse, instance):
    assert run(emulator, warehouse, instance, tags=RANGE).success
    assert len(instance.get_runs()) == 1
    expected = {"2025-03-01": PASSED, "2025-03-02": PASSED, "2025-03-03": PASSED}
    assert history(instance, "raw_conversations", "stored_matches_api_total") == expected
    assert history(instance, "conversation_facts", "matches_raw_conversations") == expected


@pytest.mark.parametrize("warehouse_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_lossy_write_fails_the_blocking_check_for_that_day_and_stops_downstream(emulator, warehouse, instance):
    # A real fault in a real warehouse: a trigger silently drops one conversation of 2025-03-02.
    victim = emulator.dataset.day(date(2025, 3, 2))[0]["_id"]
    execute(warehouse, f"""
        CREATE FUNCTION jelou.drop_one() RETURNS trigger AS $$
        BEGIN IF NEW.conversation_id = '{victim}' THEN RETURN NULL; END IF; RETURN NEW; END $$ LANGUAGE plpgsql;
        CREATE TRIGGER drop_one BEFORE INSERT ON jelou.raw_conversations FOR EACH ROW EXECUTE FUNCTION jelou.drop_one();
    """)
    result = run(emulator, warehouse, instance, tags=RANGE)
    assert not result.success
    assert history(instance, "raw_conversations", "stored_matches_api_total") == {
        "2025-03-01": PASSED, "2025-03-02": FAILED, "2025-03-03": PASSED}
    facts = warehouse.read_frame(sa.text("SELECT count(*) AS n FROM jelou.conversation_facts"))
    assert int(facts["n"].iloc[0]) == 0  # conversation_facts never ran


def test_checks_rerun_alone_catch_rows_deleted_after_the_load(emulator, warehouse, instance):
    run(emulator, warehouse, instance, partition_key="2025-03-01")
    execute(warehouse, "DELETE FROM jelou.raw_conversations WHERE conversation_id IN "
                       "(SELECT conversation_id FROM jelou.raw_conversations ORDER BY conversation_id LIMIT 2)")
    # A checks-only job, partitioned like the assets it checks: the way the UI's "Execute checks" runs them.
    checks_job = define_asset_job(
        "recheck", selection=AssetSelection.checks_for_assets(raw_conversations, conversation_facts))
    job = Definitions(assets=PIPELINE, jobs=[checks_job],
                      resources={"jelou": jelou_for(emulator), "warehouse": warehouse}).resolve_job_def("recheck")
    result = job.execute_in_process(tags={"dagster/partition": "2025-03-01"}, instance=instance, raise_on_error=False)
    assert not result.success
    assert history(instance, "raw_conversations", "stored_matches_api_total")["2025-03-01"] == FAILED
    assert latest_metadata(instance, "raw_conversations", "stored_matches_api_total")["distinct_ids"] == 118
    assert history(instance, "conversation_facts", "matches_raw_conversations")["2025-03-01"] == FAILED


def test_contradictory_records_raise_a_warning_not_a_failure(emulator, warehouse, instance):
    run(emulator, warehouse, instance, partition_key="2025-03-01", selection=AssetSelection.assets(raw_conversations))
    payload = warehouse.read_frame(sa.text("SELECT conversation_id, payload FROM jelou.raw_conversations "
                                           "WHERE payload LIKE '%\"state\":\"closed\"%' ORDER BY conversation_id LIMIT 1"))
    record = json.loads(payload["payload"].iloc[0])
    record["conversationDuration"] = -5000
    execute(warehouse, "UPDATE jelou.raw_conversations SET payload = :payload WHERE conversation_id = :id",
            payload=json.dumps(record), id=record["_id"])
    result = run(emulator, warehouse, instance, partition_key="2025-03-01",
                 selection=AssetSelection.assets(conversation_facts) | AssetSelection.checks_for_assets(conversation_facts))
    assert result.success  # a warning does not block
    sanity = [e for e in result.get_asset_check_evaluations() if e.check_name == "no_sanity_flags"]
    assert len(sanity) == 1 and not sanity[0].passed and sanity[0].severity.value == "WARN"
    assert sanity[0].metadata["flagged"].value == 1
