"""The client learns a server's rate limit that is lower than its ceiling, over real HTTP, in each of the
emulator's rate-limit modes; the learned rate lands in the load record and the next run starts from it."""

from __future__ import annotations

import time
from datetime import date

import pandas as pd
import pytest
import requests
import sqlalchemy as sa
from dagster import DagsterInstance, materialize

from jelou_assets.client import JelouResource
from jelou_assets.client.jelou_client import ENDPOINT, authorization_header
from jelou_assets.emulator import JelouEmulator
from jelou_assets.defs.ingestion.raw_conversations import last_learned_rate
from jelou_assets_tests.support.project import raw_conversations
from jelou_assets_tests.support.project import day_window
from jelou_assets.warehouse.resource import WarehouseResource
from jelou_assets_tests.support.emulated_api import jelou_for

DAYS = [date(2025, 3, 1), date(2025, 3, 2)]
SERVER_RPS = 10.0
CEILING = 20.0  # the client's JELOU_REQUESTS_PER_SECOND, above what the server allows


def limited_emulator(**knobs) -> JelouEmulator:
    return JelouEmulator(per_day=150, seed=11, rate_limit_rps=SERVER_RPS, **knobs)


def client_for(emu: JelouEmulator, **overrides):
    settings = dict(page_size=10, requests_per_second=CEILING, api_pool_limit=1)
    settings.update(overrides)
    return jelou_for(emu, **settings).get_client()


def walk(emu: JelouEmulator, **overrides):
    """Both days with one client, as one run walks a backfill; returns the windows and the client."""
    client = client_for(emu, **overrides)
    try:
        return [client.fetch_window(*day_window(day)) for day in DAYS], client
    finally:
        client.close()


def truth_ids(emu: JelouEmulator, day: date) -> list[str]:
    return [r["_id"] for r in emu.dataset.conversations_between(*day_window(day))]


def statuses(emu: JelouEmulator) -> list[int]:
    return [entry["status"] for entry in emu.requests]


# ---- the emulator's rate-limit modes ----------------------------------------------------------------


def post_page(emu: JelouEmulator) -> requests.Response:
    start, end = day_window(DAYS[0])
    return requests.post(
        emu.url + ENDPOINT, params={"limit": 10, "page": 1},
        json={"startAt": start.isoformat(), "endAt": end.isoformat(), "getJson": True},
        headers={"Authorization": authorization_header("demo", "demo-secret", "basic")}, timeout=10,
    )


def test_the_emulator_sends_the_drafts_ratelimit_headers_with_every_answer():
    with JelouEmulator(per_day=20, rate_limit_rps=2, rate_limit_headers="ratelimit") as emu:
        answers = [post_page(emu) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert [a.headers["RateLimit-Remaining"] for a in answers] == ["1", "0", "0"]
    assert {a.headers["RateLimit-Limit"] for a in answers} == {"2"}
    assert {a.headers["RateLimit-Policy"] for a in answers} == {"2;w=1"}
    assert "Retry-After" in answers[2].headers


def test_the_emulator_sends_x_ratelimit_headers_with_a_unix_reset():
    with JelouEmulator(per_day=20, rate_limit_rps=2, rate_limit_headers="x-ratelimit", retry_after=None) as emu:
        began = time.time()
        answers = [post_page(emu) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert "Retry-After" not in answers[2].headers
    assert began < int(answers[1].headers["X-RateLimit-Reset"]) <= began + 3


def test_without_a_header_mode_the_emulator_sends_no_quota_headers():
    with JelouEmulator(per_day=20, rate_limit_rps=2) as emu:
        answer = post_page(emu)
    assert not [name for name in answer.headers if "ratelimit" in name.lower()]


def test_an_unknown_header_mode_is_refused_naming_the_modes():
    with pytest.raises(ValueError, match="rate_limit_headers must be one of"):
        JelouEmulator(rate_limit_headers="github")


# ---- the client against a server limit below its ceiling --------------------------------------------


@pytest.mark.parametrize("retry_after", ["seconds", "http-date", None])
def test_429s_cut_the_budget_below_the_ceiling_and_every_day_lands_exactly(retry_after):
    with limited_emulator(retry_after=retry_after) as emu:
        windows, client = walk(emu)
        assert [w.ids for w in windows] == [truth_ids(emu, day) for day in DAYS]
        assert 429 in statuses(emu)
        assert client.limiter.cuts >= 1
        assert client.limiter.requests_per_second < CEILING


@pytest.mark.parametrize("retry_after", ["seconds", "http-date"])
def test_no_request_is_sent_before_a_429s_retry_after_has_passed(retry_after):
    with limited_emulator(retry_after=retry_after) as emu:
        walk(emu)
        log = emu.requests
    first_429 = next(entry for entry in log if entry["status"] == 429)
    after = [entry["at"] for entry in log if entry["n"] > first_429["n"]]
    # Every 429 here carries Retry-After of at least 1 s; requests already in flight had been sent before it.
    in_flight = 4
    assert all(at - first_429["at"] >= 0.9 for at in after[in_flight:])


def test_the_run_log_says_when_the_budget_was_cut_and_to_what(caplog):
    with limited_emulator() as emu, caplog.at_level("WARNING"):
        walk(emu)
    assert "rate limited (429): request budget cut from 20.00 to 14.00 requests/s" in caplog.text


def test_ratelimit_policy_headers_pace_the_client_to_the_limit_without_a_429():
    with limited_emulator(rate_limit_headers="ratelimit") as emu:
        windows, client = walk(emu)
        assert [w.ids for w in windows] == [truth_ids(emu, day) for day in DAYS]
        assert 429 not in statuses(emu)
        assert client.limiter.requests_per_second == SERVER_RPS


def test_x_ratelimit_headers_pace_the_client_by_what_remains_and_every_day_lands_exactly():
    with limited_emulator(rate_limit_headers="x-ratelimit", retry_after=None) as emu:
        windows, _ = walk(emu)
        assert [w.ids for w in windows] == [truth_ids(emu, day) for day in DAYS]
        assert statuses(emu).count(429) <= 1


def test_a_server_limit_above_the_ceiling_is_never_hit_and_the_ceiling_is_kept():
    with JelouEmulator(per_day=150, seed=11, rate_limit_rps=CEILING * 2) as emu:
        windows, client = walk(emu)
        assert 429 not in statuses(emu)
        assert client.limiter.requests_per_second == CEILING


def test_concurrent_steps_each_start_at_their_share_of_the_learned_rate():
    resource = JelouResource(base_url="http://127.0.0.1:1", client_id="demo", client_secret="demo-secret",
                             requests_per_second=5.0, api_pool_limit=2)
    client = resource.get_client(learned_requests_per_second=6.0)
    assert client.limiter.requests_per_second == 3.0
    assert client.limiter.learned_requests_per_second == 6.0  # reported account-wide again


def test_a_learned_rate_above_the_ceiling_starts_at_the_ceiling():
    resource = JelouResource(base_url="http://127.0.0.1:1", client_id="demo", client_secret="demo-secret",
                             requests_per_second=5.0, api_pool_limit=1)
    assert resource.get_client(learned_requests_per_second=50.0).limiter.requests_per_second == 5.0


# ---- through Dagster, on DuckDB and PostgreSQL ----------------------------------------------------


def materialize_backfill(emu: JelouEmulator, warehouse: WarehouseResource, instance: DagsterInstance | None = None):
    resource = jelou_for(emu, page_size=10, requests_per_second=CEILING, api_pool_limit=1)
    return materialize(
        [raw_conversations], resources={"jelou": resource, "warehouse": warehouse}, instance=instance,
        tags={"dagster/asset_partition_range_start": DAYS[0].isoformat(),
              "dagster/asset_partition_range_end": DAYS[-1].isoformat()},
    )


def loads(warehouse: WarehouseResource) -> pd.DataFrame:
    return warehouse.read_frame(sa.text("SELECT * FROM jelou.raw_partition_loads ORDER BY partition_date"))


def test_a_throttled_backfill_lands_exactly_and_records_the_learned_rate(warehouse):
    with limited_emulator() as emu:
        result = materialize_backfill(emu, warehouse)
        truth = {day: truth_ids(emu, day) for day in DAYS}
        throttled = statuses(emu).count(429)
    assert result.success
    raw = warehouse.read_frame(sa.text(
        "SELECT partition_date, conversation_id FROM jelou.raw_conversations ORDER BY partition_date, conversation_id"))
    assert {day: sorted(raw.conversation_id[raw.partition_date == day]) for day in DAYS} == {
        day: sorted(ids) for day, ids in truth.items()}
    assert raw.duplicated().sum() == 0
    recorded = loads(warehouse)
    assert recorded.throttled.sum() == throttled >= 1
    assert recorded.learned_requests_per_second.iloc[-1] < CEILING  # the budget was cut during the backfill
    # Each partition's metadata is its own day's, as recorded in its load record.
    per_day = {m.partition: m.metadata for m in result.asset_materializations_for_node("raw_conversations")}
    keys = [pd.Timestamp(day).date().isoformat() for day in recorded.partition_date]
    assert [per_day[key]["throttled"].value for key in keys] == list(recorded.throttled)
    assert [per_day[key]["learned_requests_per_second"].value for key in keys] == pytest.approx(
        list(recorded.learned_requests_per_second), abs=1e-3)


def test_the_next_run_starts_from_the_last_learned_rate(warehouse):
    instance = DagsterInstance.ephemeral()
    with limited_emulator() as emu:
        assert materialize_backfill(emu, warehouse, instance).success
        learned = last_learned_rate(warehouse)
        assert learned is not None and learned < CEILING
        second = materialize_backfill(emu, warehouse, instance)
    assert second.success
    messages = [entry.user_message for entry in instance.all_logs(second.run_id)]
    assert any(m.startswith(f"request budget starts at {learned:.2f} requests/s") for m in messages), messages


def test_a_warehouse_created_before_the_learned_rate_column_gets_it(warehouse):
    with warehouse.connect() as connection:
        connection.execute(sa.text("ALTER TABLE jelou.raw_partition_loads DROP COLUMN learned_requests_per_second"))
        connection.commit()
    warehouse.ensure_tables()
    with JelouEmulator(per_day=20, seed=11) as emu:
        assert materialize_backfill(emu, warehouse).success
    assert (loads(warehouse).learned_requests_per_second == CEILING).all()
