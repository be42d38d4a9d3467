"""The client against the emulator over real HTTP: request shape, auth, errors, retries, page walking."""

from __future__ import annotations

import base64
import time
from datetime import date

import pytest

from jelou_assets.client import (
    JelouAuthError,
    JelouBadPayloadError,
    JelouPaginationError,
    JelouRateLimitError,
    JelouServerError,
    JelouValidationError,
)
from jelou_assets.client.jelou_client import authorization_header
from jelou_assets.emulator import JelouEmulator
from jelou_assets_tests.support.project import day_window
from jelou_assets_tests.support.emulated_api import jelou_for

DAY = date(2025, 3, 1)
TZ = "America/Guayaquil"


def fetch(emu: JelouEmulator, day: date = DAY, **overrides):
    client = jelou_for(emu, **overrides).get_client()
    try:
        return client.fetch_window(*day_window(day, TZ))
    finally:
        client.close()


def ground_truth_ids(emu: JelouEmulator, day: date = DAY) -> list[str]:
    return [r["_id"] for r in emu.dataset.conversations_between(*day_window(day, TZ))]


def test_request_is_a_post_with_limit_page_and_the_window_with_its_offset(emulator):
    fetch(emulator, page_size=50)
    first = emulator.requests[0]
    assert first["method"] == "POST"
    assert first["query"] == {"limit": "50", "page": "1"}
    assert first["body"] == {"startAt": "2025-03-01T00:00:00-05:00", "endAt": "2025-03-01T23:59:59-05:00", "getJson": True}


def test_window_returns_exactly_the_emulators_conversations_in_order(emulator):
    result = fetch(emulator, page_size=50)
    assert [r["_id"] for r in result.records] == ground_truth_ids(emulator)
    assert result.records == emulator.dataset.conversations_between(*day_window(DAY, TZ))
    assert result.api_total == len(result.records) == 120
    assert result.pages == 3 and result.walks == 1 and result.requests == 3


@pytest.mark.parametrize("scheme", ["basic", "raw"])
def test_each_auth_scheme_is_sent_as_configured(scheme):
    with JelouEmulator(per_day=10, accepted_auth_schemes=(scheme,)) as emu:
        result = fetch(emu, auth_scheme=scheme)
        assert result.api_total == 10
        assert {r["auth_scheme"] for r in emu.requests} == {scheme}


def test_authorization_header_forms():
    assert authorization_header("id", "s3cret", "raw") == "id:s3cret"
    assert authorization_header("id", "s3cret", "basic") == "Basic " + base64.b64encode(b"id:s3cret").decode()


def test_wrong_secret_raises_auth_error_once_without_the_secret(emulator):
    with pytest.raises(JelouAuthError) as raised:
        fetch(emulator, client_secret="wrong-SECRET-value")
    assert "JELOU_CLIENT_SECRET" in str(raised.value) and "JELOU_AUTH_SCHEME" in str(raised.value)
    assert "wrong-SECRET-value" not in str(raised.value)
    assert len(emulator.requests) == 1


def test_wrong_auth_scheme_raises_auth_error_naming_the_setting():
    with JelouEmulator(per_day=10, accepted_auth_schemes=("raw",)) as emu:
        with pytest.raises(JelouAuthError, match="JELOU_AUTH_SCHEME"):
            fetch(emu, auth_scheme="basic")


def test_page_size_above_the_api_cap_raises_validation_error_once(emulator):
    with pytest.raises(JelouValidationError, match="JELOU_PAGE_SIZE"):
        fetch(emulator, page_size=51)
    assert len(emulator.requests) == 1


def test_missing_credentials_fail_before_any_request(emulator):
    with pytest.raises(JelouAuthError, match="JELOU_CLIENT_ID"):
        fetch(emulator, client_id="")
    assert emulator.requests == []


@pytest.mark.parametrize("retry_after", ["seconds", "http-date"])
def test_429_with_retry_after_waits_and_recovers(emulator, retry_after):
    emulator.config.retry_after = retry_after
    emulator.config.fault_plan = {2: "429"}
    began = time.monotonic()
    result = fetch(emulator, page_size=50)
    assert [r["_id"] for r in result.records] == ground_truth_ids(emulator)
    assert result.throttled == 1 and result.retries == 1 and result.requests == 4
    assert time.monotonic() - began >= 0.9  # Retry-After is at least one second


def test_429_without_retry_after_backs_off_and_recovers(emulator):
    emulator.config.fault_plan = {1: "429-no-retry-after", 2: "429-no-retry-after"}
    result = fetch(emulator, page_size=50)
    assert result.throttled == 2 and result.api_total == 120


@pytest.mark.parametrize("fault", ["500", "502", "503", "reset"])
def test_transient_server_faults_are_retried(emulator, fault):
    emulator.config.fault_plan = {2: fault}
    result = fetch(emulator, page_size=50)
    assert [r["_id"] for r in result.records] == ground_truth_ids(emulator)
    assert result.retries == 1


@pytest.mark.parametrize("fault", ["truncated", "malformed", "no_results", "no_pagination"])
def test_bad_payloads_are_asked_again(emulator, fault):
    emulator.config.fault_plan = {1: fault}
    result = fetch(emulator, page_size=50)
    assert [r["_id"] for r in result.records] == ground_truth_ids(emulator)


def test_permanent_500_fails_after_bounded_attempts(emulator):
    emulator.config.error_rate = 1.0
    with pytest.raises(JelouServerError, match="500"):
        fetch(emulator, max_attempts=3)
    assert len(emulator.requests) == 3


def test_permanent_429_raises_rate_limit_error_naming_the_budget(emulator):
    emulator.config.fault_plan = {n: "429" for n in range(1, 10)}
    emulator.config.retry_after = None
    with pytest.raises(JelouRateLimitError, match="JELOU_REQUESTS_PER_SECOND"):
        fetch(emulator, max_attempts=2)


def test_read_timeout_is_retried(emulator):
    emulator.config.fault_plan = {2: "timeout"}
    emulator.config.timeout_sleep_s = 2.0
    result = fetch(emulator, page_size=50, read_timeout_s=0.5)
    assert result.api_total == 120 and result.retries >= 1


def test_client_budget_spaces_requests():
    with JelouEmulator(per_day=100) as emu:
        fetch(emu, page_size=10, requests_per_second=20.0, max_pages_in_flight=4)
        starts = [r["at"] for r in emu.requests]
    assert len(starts) == 10
    assert starts[-1] - starts[0] >= 9 / 20 * 0.9


def test_pages_after_the_first_are_fetched_concurrently():
    with JelouEmulator(per_day=100, latency_ms=200) as emu:
        began = time.monotonic()
        fetch(emu, page_size=10, max_pages_in_flight=5)
        elapsed = time.monotonic() - began
    # 10 pages of 200 ms each: sequential would take 2 s; page 1 then 9 pages five at a time, ~0.6-0.8 s.
    assert elapsed < 1.6


def test_drift_during_the_walk_is_recovered_by_walking_again():
    with JelouEmulator(per_day=120, drift=2, drift_after_request=1) as emu:
        result = fetch(emu, page_size=50)
        assert result.walks == 2
        assert [r["_id"] for r in result.records] == ground_truth_ids(emu)
        assert result.api_total == 122


def test_endless_drift_fails_with_a_pagination_error():
    with JelouEmulator(per_day=120, drift=1000, drift_after_request=1) as emu:
        with pytest.raises(JelouPaginationError, match="walks"):
            fetch(emu, page_size=50, max_rewalks=2)


def test_empty_window_returns_no_records():
    with JelouEmulator(per_day=0) as emu:
        result = fetch(emu)
    assert result.records == [] and result.api_total == 0 and result.requests == 1


def test_total_that_is_an_exact_multiple_of_the_page_size():
    with JelouEmulator(per_day=100) as emu:
        result = fetch(emu, page_size=25)
        assert result.pages == 4 and len(result.records) == 100
        assert [r["query"]["page"] for r in emu.requests] == ["1", "2", "3", "4"]


def test_pagination_without_page_or_offset_fields_is_accepted():
    with JelouEmulator(per_day=60, omit_pagination_page=True, omit_offset=True) as emu:
        assert fetch(emu, page_size=25).api_total == 60


def test_day_edges_belong_to_their_local_day():
    with JelouEmulator(per_day=20, timezone=TZ, response_timezone="UTC") as emu:
        records = fetch(emu).records
    starts = sorted(r["startAt"] for r in records)
    # 00:00:00 and 23:59:59 in Guayaquil (-05:00) are 05:00:00 that day and 04:59:59 the next day in UTC.
    assert starts[0] == "2025-03-01 05:00:00"
    assert starts[-1] == "2025-03-02 04:59:59"


def test_body_cut_short_mid_stream_is_asked_again(emulator):
    emulator.config.fault_plan = {2: "incomplete"}
    result = fetch(emulator, page_size=50)
    assert [r["_id"] for r in result.records] == ground_truth_ids(emulator)
    assert result.retries == 1 and result.requests == 4


def test_body_cut_short_every_time_fails_naming_the_problem(emulator):
    emulator.config.fault_plan = {n: "incomplete" for n in range(1, 10)}
    with pytest.raises(JelouBadPayloadError, match="cut short"):
        fetch(emulator, max_attempts=3)
    assert len(emulator.requests) == 3
