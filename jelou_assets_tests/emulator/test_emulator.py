"""The Jelou emulator over real HTTP on an ephemeral port, one behaviour per test."""

from __future__ import annotations

import base64
import collections
import http.client
import math
import selectors
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jelou_assets.settings import PROJECT_ROOT
from jelou_assets.emulator import EmulatorConfig, JelouEmulator, SyntheticDataset
from jelou_assets.emulator.server import BODY_401, BODY_422, BODY_429, BODY_500, ENDPOINT

GYE = ZoneInfo("America/Guayaquil")
DAY = date(2025, 3, 1)
NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)  # frozen clock: DAY is complete
PER_DAY = 40
BASIC = ("demo", "demo-secret")
REPO = PROJECT_ROOT


def day_body(day: date = DAY, **extra: object) -> dict:
    return {"startAt": f"{day}T00:00:00-05:00", "endAt": f"{day}T23:59:59-05:00", "getJson": True, **extra}


def day_bounds(day: date = DAY) -> tuple[datetime, datetime]:
    return (datetime.combine(day, datetime.min.time(), GYE),
            datetime.combine(day, datetime.max.time().replace(microsecond=0), GYE))


def post(emu: JelouEmulator, body: object = None, *, limit: int | str | None = None,
         page: int | str | None = None, auth: object = BASIC, session: requests.Session | None = None,
         headers: dict | None = None, timeout: float = 5) -> requests.Response:
    params = {k: v for k, v in (("limit", limit), ("page", page)) if v is not None}
    return (session or requests).post(
        emu.url + ENDPOINT, params=params, json=day_body() if body is None else body,
        auth=auth, headers=headers, timeout=timeout,
    )


def walk(emu: JelouEmulator, body: dict, limit: int) -> tuple[list[dict], list[int]]:
    """Every page of a window, as a client would walk it: records and the totals seen."""
    records, totals, page = [], [], 1
    with requests.Session() as s:
        while True:
            r = post(emu, body, limit=limit, page=page, session=s)
            assert r.status_code == 200
            data = r.json()
            records += data["results"]
            totals.append(data["pagination"]["total"])
            if page >= data["pagination"]["totalPages"]:
                return records, totals
            page += 1


@pytest.fixture
def emu():
    with JelouEmulator(per_day=PER_DAY, now=NOW) as emulator:
        yield emulator


# ---- auth -------------------------------------------------------------------------

def test_basic_auth_is_accepted(emu):
    r = post(emu)
    assert r.status_code == 200
    assert emu.requests[-1]["auth_scheme"] == "basic"


def test_raw_client_id_colon_secret_as_in_the_docs_curl_is_accepted(emu):
    r = post(emu, auth=None, headers={"Authorization": "demo:demo-secret"})
    assert r.status_code == 200
    assert emu.requests[-1]["auth_scheme"] == "raw"


def test_wrong_secret_is_401_with_the_documented_body(emu):
    r = post(emu, auth=("demo", "wrong"))
    assert r.status_code == 401
    assert r.json() == BODY_401 == {"message": "Authentication failed"}


@pytest.mark.parametrize("header", [None, "Bearer demo-secret", "Basic not-base64!", "demo:wrong"])
def test_missing_or_unknown_authorization_is_401(emu, header):
    r = post(emu, auth=None, headers={"Authorization": header} if header else None)
    assert r.status_code == 401
    assert r.json() == BODY_401


def test_scheme_not_accepted_is_401_even_with_right_credentials():
    with JelouEmulator(per_day=5, now=NOW, accepted_auth_schemes=("basic",)) as emu:
        assert post(emu, auth=None, headers={"Authorization": "demo:demo-secret"}).status_code == 401
        assert post(emu).status_code == 200


def test_request_log_never_stores_credentials(emu):
    post(emu)
    post(emu, auth=None, headers={"Authorization": "demo:demo-secret"})
    encoded = base64.b64encode(b"demo:demo-secret").decode()
    assert "demo-secret" not in repr(emu.requests) and encoded not in repr(emu.requests)
    assert "demo-secret" not in repr(emu.config)


# ---- validation -------------------------------------------------------------------

VALIDATION_CAUSES = {
    "body_not_an_object": dict(body=[day_body()]),
    "missing_startAt": dict(body={"endAt": "2025-03-01T23:59:59-05:00", "getJson": True}),
    "missing_endAt": dict(body={"startAt": "2025-03-01T00:00:00-05:00", "getJson": True}),
    "startAt_not_iso": dict(body=day_body(startAt="01/03/2025 00:00")),
    "startAt_not_a_string": dict(body=day_body(startAt=1740805200)),
    "startAt_without_offset": dict(body=day_body(startAt="2025-03-01T00:00:00")),
    "endAt_without_offset": dict(body=day_body(endAt="2025-03-01T23:59:59")),
    "endAt_before_startAt": dict(body=day_body(endAt="2025-02-28T23:59:59-05:00")),
    "getJson_false": dict(body=day_body(getJson=False)),
    "getJson_string": dict(body=day_body(getJson="true")),
    "getJson_missing": dict(body={"startAt": "2025-03-01T00:00:00-05:00", "endAt": "2025-03-01T23:59:59-05:00"}),
    "limit_not_integer": dict(limit="ten"),
    "limit_fractional": dict(limit="1.5"),
    "limit_zero": dict(limit=0),
    "limit_over_max": dict(limit=51),
    "page_zero": dict(page=0),
    "page_not_integer": dict(page="x"),
    "window_too_wide": dict(body=day_body(startAt="2020-01-01T00:00:00-05:00")),
}


@pytest.mark.parametrize("cause", VALIDATION_CAUSES)
def test_invalid_request_is_422_with_the_documented_body(emu, cause):
    r = post(emu, **VALIDATION_CAUSES[cause])
    assert r.status_code == 422
    assert r.json() == BODY_422


def test_body_that_is_not_json_is_422(emu):
    r = requests.post(emu.url + ENDPOINT, data=b"startAt=yesterday", auth=BASIC, timeout=5)
    assert r.status_code == 422
    assert r.json() == BODY_422


@pytest.mark.parametrize("start,end", [
    ("2025-03-01T05:00:00Z", "2025-03-02T04:59:59Z"),
    ("2025-03-01T00:00:00-05:00", "2025-03-01T23:59:59-05:00"),
    ("2025-03-01T06:00:00+01:00", "2025-03-02T05:59:59.999+01:00"),
])
def test_z_and_numeric_offsets_are_accepted_and_mean_the_same_window(emu, start, end):
    r = post(emu, {"startAt": start, "endAt": end, "getJson": True}, limit=50)
    assert r.status_code == 200
    assert r.json()["pagination"]["total"] == PER_DAY


def test_wrong_path_is_404_and_wrong_method_is_405(emu):
    assert requests.post(emu.url + "/v1/metrics/other", json=day_body(), auth=BASIC, timeout=5).status_code == 404
    r = requests.get(emu.url + ENDPOINT, auth=BASIC, timeout=5)
    assert r.status_code == 405 and r.headers["Allow"] == "POST" and "message" in r.json()


# ---- pagination -------------------------------------------------------------------

def test_query_defaults_are_limit_10_and_page_1(emu):
    data = post(emu).json()
    assert data["pagination"] == {"limit": 10, "page": 1, "total": PER_DAY, "offset": 0, "totalPages": 4}
    assert len(data["results"]) == 10


def test_pagination_object_offset_and_links(emu):
    data = post(emu, limit=7, page=3).json()
    assert data["message"] == ["Retrieving conversations succeeded"] and data["status"] == "success"
    assert data["pagination"] == {"limit": 7, "page": 3, "total": 40, "offset": 14, "totalPages": 6}
    assert data["links"] == [{"number": n, "url": f"{ENDPOINT}?limit=7&page={n}"} for n in range(1, 7)]
    assert len(data["results"]) == 7
    assert len(post(emu, limit=7, page=6).json()["results"]) == 5


def test_page_past_the_end_is_empty_with_the_same_pagination(emu):
    data = post(emu, limit=10, page=5).json()
    assert data["results"] == []
    assert data["pagination"] == {"limit": 10, "page": 5, "total": 40, "offset": 40, "totalPages": 4}


def test_empty_window_has_zero_total_pages_and_no_links(emu):
    body = day_body(startAt="2025-03-01T00:00:00.5-05:00", endAt="2025-03-01T00:00:00.9-05:00")
    data = post(emu, body).json()
    assert data["results"] == [] and data["links"] == []
    assert data["pagination"]["total"] == 0 and data["pagination"]["totalPages"] == 0


def test_pagination_fields_can_be_omitted_like_the_docs_example(emu):
    emu.config.omit_pagination_page = True
    emu.config.omit_offset = True
    assert post(emu, limit=1).json()["pagination"] == {"limit": 1, "total": 40, "totalPages": 40}


# ---- data: ground truth and determinism --------------------------------------------

def test_served_records_equal_conversations_between(emu):
    served, _ = walk(emu, day_body(), limit=9)
    assert served == emu.dataset.conversations_between(*day_bounds())
    assert served == emu.dataset.day(DAY)
    assert len({r["_id"] for r in served}) == PER_DAY


def test_order_is_by_start_then_id_and_stable_across_repeated_calls(emu):
    first, _ = walk(emu, day_body(), limit=6)
    second, _ = walk(emu, day_body(), limit=6)
    assert first == second
    keys = [(r["startAt"], r["_id"]) for r in first]  # UTC strings sort like instants
    assert keys == sorted(keys)


def test_window_spanning_two_local_days_in_another_offset(emu):
    body = {"startAt": "2025-03-01T12:00:00Z", "endAt": "2025-03-02T12:00:00Z", "getJson": True}
    served, _ = walk(emu, body, limit=50)
    expected = emu.dataset.conversations_between(datetime(2025, 3, 1, 12, tzinfo=UTC),
                                                 datetime(2025, 3, 2, 12, tzinfo=UTC))
    assert served == expected
    assert {r["startAt"][:10] for r in served} == {"2025-03-01", "2025-03-02"}


def test_same_seed_gives_same_data_and_another_seed_different_data():
    a = SyntheticDataset(seed=7, per_day=30, now=NOW).day(DAY)
    b = SyntheticDataset(seed=7, per_day=30, now=NOW).day(DAY)
    c = SyntheticDataset(seed=8, per_day=30, now=NOW).day(DAY)
    assert a == b
    assert {r["_id"] for r in a}.isdisjoint(r["_id"] for r in c)
    assert [r["startAt"] for r in a] != [r["startAt"] for r in c]


def test_a_day_does_not_depend_on_which_days_were_generated_before():
    fresh = SyntheticDataset(per_day=30, now=NOW).day(DAY)
    warmed = SyntheticDataset(per_day=30, now=NOW)
    warmed.day(DAY + timedelta(days=3))
    assert warmed.day(DAY) == fresh


def test_server_serves_the_configured_seed(emu):
    served, _ = walk(emu, day_body(), limit=50)
    assert served == SyntheticDataset(seed=7, per_day=PER_DAY, now=NOW).day(DAY)
    emu.config.seed = 99
    reseeded, _ = walk(emu, day_body(), limit=50)
    assert reseeded == SyntheticDataset(seed=99, per_day=PER_DAY, now=NOW).day(DAY) != served


def test_edge_conversations_at_local_midnight_and_23_59_59_rendered_in_utc(emu):
    served, _ = walk(emu, day_body(), limit=50)
    assert served[0]["startAt"] == "2025-03-01 05:00:00"  # 00:00:00 at -05:00
    assert served[-1]["startAt"] == "2025-03-02 04:59:59"  # 23:59:59 at -05:00


@pytest.mark.parametrize("zone,first,last", [
    ("America/Guayaquil", "2025-03-01 00:00:00", "2025-03-01 23:59:59"),
    ("Europe/Madrid", "2025-03-01 06:00:00", "2025-03-02 05:59:59"),
])
def test_edge_conversations_rendered_in_a_non_utc_response_timezone(zone, first, last):
    with JelouEmulator(per_day=PER_DAY, now=NOW, response_timezone=zone) as emu:
        served, _ = walk(emu, day_body(), limit=50)
    assert (served[0]["startAt"], served[-1]["startAt"]) == (first, last)


def test_edge_conversations_can_be_switched_off():
    records = SyntheticDataset(per_day=PER_DAY, now=NOW, edge_conversations=False).day(DAY)
    assert records[0]["startAt"] != "2025-03-01 05:00:00"


def test_end_minus_start_equals_whole_seconds_of_duration(emu):
    served, _ = walk(emu, day_body(), limit=50)
    closed = [r for r in served if r["endAt"]]
    assert len(closed) > PER_DAY // 2
    for r in closed:
        start = datetime.fromisoformat(r["startAt"])
        end = datetime.fromisoformat(r["endAt"])
        assert (end - start).total_seconds() == r["conversationDuration"] // 1000
        assert r["timeRepliedOperator"] <= r["conversationDuration"]


def test_active_conversations_have_empty_end_and_close_when_now_advances():
    dataset = SyntheticDataset(per_day=300, now=NOW)
    active = [r for r in dataset.day(DAY) if r["state"] == "active"]
    assert active, "long-running conversations keep some of a past day active"
    assert all(r["endAt"] == "" and r["conversationDuration"] == 0 and r["endedReason"] == "" for r in active)
    with JelouEmulator(per_day=300, now=NOW) as emu:
        emu.config.now = NOW + timedelta(days=30)
        later = {r["_id"]: r for r in walk(emu, day_body(), limit=50)[0]}
    for r in active:
        closed = later[r["_id"]]
        assert closed["state"] in {"closed", "resolved", "expired"}
        assert closed["endAt"] > closed["startAt"] and closed["conversationDuration"] > 0


def test_conversations_not_started_yet_are_not_served():
    noon = datetime(2025, 3, 1, 12, 0, tzinfo=GYE)
    with JelouEmulator(per_day=PER_DAY, now=noon) as emu:
        morning = post(emu, limit=50).json()
        emu.dataset.now = noon + timedelta(hours=6)
        evening = post(emu, limit=50).json()
    assert 0 < morning["pagination"]["total"] < evening["pagination"]["total"] < PER_DAY
    assert max(r["startAt"] for r in morning["results"]) <= "2025-03-01 17:00:00"
    assert any(r["state"] == "active" for r in morning["results"])


def test_both_company_id_shapes_occur(emu):
    served, _ = walk(emu, day_body(), limit=50)
    assert {type(r["company"]["id"]) for r in served} == {int, str}


def test_data_has_slow_and_fast_teams_a_shared_operator_and_unanswered_conversations():
    records = SyntheticDataset(per_day=300, now=NOW).day(DAY)
    for offset in range(1, 5):
        records += SyntheticDataset(per_day=300, now=NOW).day(DAY + timedelta(days=offset))
    teams = collections.defaultdict(list)
    operators = collections.defaultdict(set)
    for r in records:
        if r["timeRepliedOperator"]:
            teams[r["assignationMethod"]["teamName"]].append(r["timeRepliedOperator"] / 1000)
        operators[r["operator"]["names"]].add(r["assignationMethod"]["teamName"])
    breach = {t: sum(s > 300 for s in v) / len(v) for t, v in teams.items()}
    assert 4 <= len(teams) <= 5
    assert max(breach.values()) > 0.3 and min(breach.values()) < 0.15
    assert max(max(v) for v in teams.values()) > 20 * 60
    assert any(len(t) == 2 for t in operators.values())
    states = collections.Counter(r["state"] for r in records)
    assert states["closed"] > states["resolved"] > states["expired"] > 0 and states["active"] > 0
    no_reply = sum(r["timeRepliedOperator"] == 0 and r["state"] != "active" for r in records) / len(records)
    assert 0.05 < no_reply < 0.15


def office_replies(dataset: SyntheticDataset, days: list[date]) -> list[tuple[datetime, datetime]]:
    """(start, first reply) in Guayaquil time of Soporte's replied conversations on those days."""
    pairs = []
    for day in days:
        for r in dataset.day(day):
            if r["assignationMethod"]["teamName"] == "Soporte" and r["timeRepliedOperator"]:
                start = datetime.fromisoformat(r["startAt"]).replace(tzinfo=UTC).astimezone(GYE)
                pairs.append((start, start + timedelta(milliseconds=r["timeRepliedOperator"])))
    return pairs


def test_the_office_hours_team_replies_only_while_the_office_is_open():
    days = [DAY + timedelta(days=offset) for offset in range(7)]  # Saturday 1 to Friday 7 March 2025
    pairs = office_replies(SyntheticDataset(per_day=300, now=NOW), days)
    assert all(reply.isoweekday() <= 5 and 8 <= reply.hour < 18 for _, reply in pairs)
    at_night = [(start, reply) for start, reply in pairs if start.isoweekday() > 5 or not 8 <= start.hour < 18]
    assert len(at_night) > 50, "messages sent at night or on the weekend wait for the morning"
    assert all(reply.date() > start.date() or reply.hour >= 8 for start, reply in at_night)


def test_the_office_hours_team_does_not_work_on_an_office_holiday():
    holiday = date(2025, 3, 4)
    pairs = office_replies(SyntheticDataset(per_day=300, now=NOW, office_holidays=[holiday]), [DAY + timedelta(days=d) for d in range(5)])
    assert pairs and not [reply for _, reply in pairs if reply.date() == holiday]
    assert [start for start, reply in pairs if start.date() == holiday and reply.date() == holiday + timedelta(days=1)]


def test_added_conversation_is_served_and_part_of_the_ground_truth(emu):
    start = datetime(2025, 3, 1, 9, 30, tzinfo=GYE)
    added = emu.dataset.add_conversation(start)
    served, _ = walk(emu, day_body(), limit=50)
    assert added in served and len(served) == PER_DAY + 1
    assert served == emu.dataset.conversations_between(*day_bounds())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start_s=st.integers(0, 3 * 86_400), span_s=st.integers(0, 2 * 86_400), limit=st.integers(1, 50))
def test_walking_any_window_with_any_limit_gives_the_ground_truth(emu, start_s, span_s, limit):
    start = datetime(2025, 3, 1, tzinfo=UTC) + timedelta(seconds=start_s)
    end = start + timedelta(seconds=span_s)
    body = {"startAt": start.isoformat(), "endAt": end.isoformat(), "getJson": True}
    served, _ = walk(emu, body, limit)
    assert served == emu.dataset.conversations_between(start, end)


# ---- transport ---------------------------------------------------------------------

def test_keep_alive_serves_many_requests_on_one_connection(emu):
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=5)
    headers = {"Authorization": "demo:demo-secret", "Content-Type": "application/json"}
    sockets = []
    for page in (1, 2, 3):
        conn.request("POST", f"{ENDPOINT}?limit=10&page={page}", body=b'{"startAt":"2025-03-01T00:00:00-05:00",'
                     b'"endAt":"2025-03-01T23:59:59-05:00","getJson":true}', headers=headers)
        response = conn.getresponse()
        assert response.status == 200 and not response.will_close
        assert len(response.read()) == int(response.headers["Content-Length"])
        sockets.append(conn.sock)
    assert sockets[0] is not None and all(sock is sockets[0] for sock in sockets)
    conn.close()


def test_concurrent_requests_are_all_answered_and_counted(emu):
    def fetch(page: int) -> int:
        return post(emu, limit=5, page=page % 8 + 1).status_code

    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(fetch, range(120)))
    assert statuses == [200] * 120
    assert emu.counters == {"requests": 120, "200": 120}
    assert sorted(e["n"] for e in emu.requests) == list(range(1, 121))


def test_reset_log_restarts_numbering_and_counters(emu):
    post(emu)
    post(emu, auth=("demo", "nope"))
    assert emu.counters == {"requests": 2, "200": 1, "401": 1}
    emu.reset_log()
    assert emu.requests == [] and emu.counters == {"requests": 0}
    post(emu)
    assert emu.requests[0]["n"] == 1


def test_latency_delays_every_answer(emu):
    emu.config.latency_ms = 150
    started = time.monotonic()
    assert post(emu).status_code == 200
    assert time.monotonic() - started >= 0.15


# ---- rate limit and faults ---------------------------------------------------------

@pytest.mark.parametrize("mode", ["seconds", "http-date", None])
def test_rate_limit_is_429_with_retry_after_in_each_form(emu, mode):
    emu.config.rate_limit_rps = 2
    emu.config.retry_after = mode
    with requests.Session() as s:
        statuses = [post(emu, session=s) for _ in range(5)]
    limited = [r for r in statuses if r.status_code == 429]
    assert [r.status_code for r in statuses[:2]] == [200, 200] and limited
    r = limited[0]
    assert r.json() == BODY_429
    if mode == "seconds":
        assert int(r.headers["Retry-After"]) >= 1
    elif mode == "http-date":
        when = parsedate_to_datetime(r.headers["Retry-After"])
        assert r.headers["Retry-After"].endswith("GMT")
        assert datetime.now(UTC) < when <= datetime.now(UTC) + timedelta(seconds=3)
    else:
        assert "Retry-After" not in r.headers


def test_rate_limit_budget_refills(emu):
    emu.config.rate_limit_rps = 20
    with requests.Session() as s:
        burst = [post(emu, session=s).status_code for _ in range(25)]
        time.sleep(0.3)  # refills ~6 tokens
        after = post(emu, session=s).status_code
    assert 429 in burst and after == 200


@pytest.mark.parametrize("fault,status,body", [
    ("500", 500, BODY_500),
    ("503", 503, {"message": "Service Unavailable"}),
    ("429", 429, BODY_429),
    ("429-no-retry-after", 429, BODY_429),
])
def test_planned_status_fault_then_normal_answer(emu, fault, status, body):
    emu.config.fault_plan = {1: fault}
    r = post(emu)
    assert (r.status_code, r.json()) == (status, body)
    assert ("Retry-After" in r.headers) == (fault == "429")
    assert post(emu).status_code == 200
    assert [(e["fault"], e["status"]) for e in emu.requests] == [(fault, status), (None, 200)]


def test_planned_502_is_a_gateway_html_page(emu):
    emu.config.fault_plan = {1: "502"}
    r = post(emu)
    assert r.status_code == 502 and r.headers["Content-Type"].startswith("text/html")


def test_planned_reset_closes_the_connection_without_a_response(emu):
    emu.config.fault_plan = {2: "reset"}
    with requests.Session() as s:
        assert post(emu, session=s).status_code == 200
        with pytest.raises(requests.exceptions.ConnectionError):
            post(emu, session=s)
        assert post(emu, session=s).status_code == 200  # a new connection works
    assert emu.counters["reset"] == 1 and emu.requests[1]["fault"] == "reset"


def test_planned_timeout_answers_after_the_client_gave_up(emu):
    emu.config.fault_plan = {1: "timeout"}
    emu.config.timeout_sleep_s = 1.0
    with pytest.raises(requests.exceptions.ReadTimeout):
        post(emu, timeout=0.3)
    assert post(emu).status_code == 200
    assert emu.requests[0]["fault"] == "timeout"


def test_planned_truncated_is_a_200_with_half_a_json_body(emu):
    emu.config.fault_plan = {1: "truncated"}
    r = post(emu)
    assert r.status_code == 200 and r.text.startswith('{"message"')
    with pytest.raises(ValueError):
        r.json()


def test_planned_incomplete_body_breaks_the_connection_mid_body(emu):
    emu.config.fault_plan = {1: "incomplete"}
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)):
        post(emu)


def test_planned_malformed_is_a_200_that_is_not_json(emu):
    emu.config.fault_plan = {1: "malformed"}
    r = post(emu)
    assert r.status_code == 200
    with pytest.raises(ValueError):
        r.json()


@pytest.mark.parametrize("fault,missing", [("no_results", "results"), ("no_pagination", "pagination")])
def test_planned_payload_without_a_key(emu, fault, missing):
    emu.config.fault_plan = {1: fault}
    data = post(emu).json()
    assert missing not in data and data["status"] == "success"


def test_planned_duplicate_id_repeats_another_pages_record_keeping_the_total(emu):
    truth = [r["_id"] for r in emu.dataset.conversations_between(*day_bounds())]
    emu.config.fault_plan = {1: "duplicate_id"}
    data = post(emu, limit=10, page=1).json()
    ids = [r["_id"] for r in data["results"]]
    assert ids == truth[:9] + [truth[10]]  # the next page's first record in the last slot
    assert data["pagination"]["total"] == PER_DAY


def test_planned_short_page_leaves_out_its_last_record(emu):
    truth = [r["_id"] for r in emu.dataset.conversations_between(*day_bounds())]
    emu.config.fault_plan = {1: "short_page"}
    data = post(emu, limit=10, page=2).json()
    assert [r["_id"] for r in data["results"]] == truth[10:19]
    assert data["pagination"]["total"] == PER_DAY and data["pagination"]["totalPages"] == 4


@pytest.mark.parametrize("limit,reported", [(10, 3), (50, 2)])  # 4 pages reported as 3; 1 page as 2
def test_planned_bad_total_pages_contradicts_the_total(emu, limit, reported):
    emu.config.fault_plan = {1: "bad_total_pages"}
    data = post(emu, limit=limit).json()
    assert data["pagination"]["total"] == PER_DAY and data["pagination"]["totalPages"] == reported
    assert post(emu, limit=limit).json()["pagination"]["totalPages"] == math.ceil(PER_DAY / limit)


def test_type_drift_serves_what_the_ground_truth_says():
    with JelouEmulator(per_day=200, now=NOW, type_drift=True) as emu:
        truth = emu.dataset.conversations_between(*day_bounds())
        walked, _ = walk(emu, day_body(), 50)
    assert walked == truth
    replies = [r["timeRepliedOperator"] for r in truth]
    assert None in replies and "n/a" in replies
    assert any(isinstance(v, str) and v.isdigit() for v in replies)
    assert "transferred" in {r["state"] for r in truth}


def test_type_drift_keeps_ids_and_changes_only_some_records():
    plain = SyntheticDataset(per_day=200, now=NOW).conversations_between(*day_bounds())
    drifted = SyntheticDataset(per_day=200, now=NOW, type_drift=True).conversations_between(*day_bounds())
    assert [r["_id"] for r in plain] == [r["_id"] for r in drifted]
    changed = sum(a != b for a, b in zip(plain, drifted))
    assert 0.25 * len(plain) < changed < 0.55 * len(plain)  # four drift kinds of ten


def test_switching_type_drift_on_a_running_server_changes_the_ground_truth(emu):
    before = emu.dataset.conversations_between(*day_bounds())
    emu.config.type_drift = True
    after = emu.dataset.conversations_between(*day_bounds())
    assert before != after
    assert post(emu, limit=50).json()["results"] == after


def test_payload_faults_do_not_hide_auth_errors(emu):
    emu.config.fault_plan = {1: "malformed"}
    assert post(emu, auth=("demo", "bad")).status_code == 401
    assert emu.requests[0]["fault"] is None


def test_unknown_fault_is_rejected_at_construction():
    with pytest.raises(ValueError):
        JelouEmulator(fault_plan={1: "gremlins"})


def test_error_rate_gives_the_documented_500(emu):
    emu.config.error_rate = 1.0
    r = post(emu)
    assert r.status_code == 500 and r.json() == BODY_500


def test_drift_shifts_pages_during_a_walk_then_stabilises():
    with JelouEmulator(EmulatorConfig(per_day=PER_DAY, now=NOW, drift=2, drift_after_request=1)) as emu:
        first, totals = walk(emu, day_body(), limit=10)
        assert totals == [40, 41, 42, 42, 42]
        ids = [r["_id"] for r in first]
        assert len(ids) != len(set(ids))  # the shift re-served records across page borders
        again, totals = walk(emu, day_body(), limit=10)
        assert totals == [42] * 5
        assert again == emu.dataset.conversations_between(*day_bounds())
        assert len({r["_id"] for r in again}) == 42
        arrivals = [r for r in again if r["_id"] not in set(ids)]
        assert len(arrivals) == 2 and again[:2] == arrivals  # arrivals sort before everything
        assert {r["startAt"] for r in arrivals} == {"2025-03-01 05:00:00"}


# ---- CLI ----------------------------------------------------------------------------

def test_cli_starts_on_a_free_port_answers_and_exits_on_sigterm():
    proc = subprocess.Popen(
        [sys.executable, "-m", "jelou_assets.emulator", "--port", "0", "--per-day", "20", "--seed", "3"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        selector = selectors.DefaultSelector()
        selector.register(proc.stdout, selectors.EVENT_READ)
        assert selector.select(timeout=10), "no banner within 10 s"
        line = proc.stdout.readline().strip()
        prefix = "jelou emulator listening on http://127.0.0.1:"
        assert line.startswith(prefix) and int(line[len(prefix):]) > 0
        url = line.rsplit(" ", 1)[1]
        r = requests.post(url + ENDPOINT + "?limit=50", json=day_body(), auth=BASIC, timeout=5)
        assert r.status_code == 200 and r.json()["pagination"]["total"] == 20
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_dataset_rejects_naive_datetimes():
    with pytest.raises(ValueError):
        SyntheticDataset(now=datetime(2025, 3, 1))
    with pytest.raises(ValueError):
        SyntheticDataset().conversations_between(datetime(2025, 3, 1), datetime(2025, 3, 2))


def test_window_bounds_are_inclusive(emu):
    start, end = day_bounds()
    edge = emu.dataset.conversations_between(start, start) + emu.dataset.conversations_between(end, end)
    assert [r["startAt"] for r in edge] == ["2025-03-01 05:00:00", "2025-03-02 04:59:59"]
    assert len(emu.dataset.conversations_between(start, end)) == PER_DAY
