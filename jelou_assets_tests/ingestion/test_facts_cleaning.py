"""The cleaning rules of conversation_facts, one real-world shape per test."""

from __future__ import annotations

import json
from datetime import date, datetime

import pandas as pd
import pytest

from jelou_assets.facts_cleaning import clean_conversations, facts_to_arrow

DAY = date(2023, 6, 8)
PSEUDONYM_KEY = "test-pseudonym-key"
EXAMPLE = {  # the API documentation's own example record
    "_id": "CONVERSATION_ID",
    "operator": {"names": "OPERATOR_NAME"},
    "user": {"id": "ID"},
    "bot": {"name": "BOT_NAME"},
    "company": {"id": "COMPANY_ID"},
    "assignationMethod": {"teamName": "TEAM_NAME"},
    "state": "expired",
    "endedReason": "expired",
    "startAt": "2023-06-08 15:52:41",
    "endAt": "2023-06-08 23:07:56",
    "origin": "ticket",
    "timeRepliedOperator": 795880,
    "conversationDuration": 26115953,
}


def clean(*records: dict, timezone: str = "UTC", fetched: list[datetime] | None = None) -> tuple[pd.DataFrame, object]:
    fetched = fetched or [datetime(2023, 6, 9)] * len(records)
    raw = pd.DataFrame(
        {
            "partition_date": [DAY] * len(records),
            "conversation_id": [r.get("_id", f"id{i}") for i, r in enumerate(records)],
            "payload": [json.dumps(r) for r in records],
            "fetched_at": fetched,
        }
    )
    return clean_conversations(raw, timezone, PSEUDONYM_KEY)


def one(**changes) -> pd.Series:
    facts, _ = clean({**EXAMPLE, **changes})
    return facts.iloc[0]


def test_documented_example_becomes_a_clean_row():
    row = one()
    assert row["started_at"] == pd.Timestamp("2023-06-08 15:52:41")
    assert row["ended_at"] == pd.Timestamp("2023-06-08 23:07:56")
    assert (row["state"], row["team_name"], row["operator_name"]) == ("expired", "TEAM_NAME", "OPERATOR_NAME")
    assert (row["first_reply_ms"], row["duration_ms"]) == (795880, 26115953)
    assert row["sanity_flag"] is None


def test_naive_timestamps_are_read_in_the_response_timezone_and_stored_as_utc():
    facts, _ = clean(EXAMPLE, timezone="America/Guayaquil")
    assert facts.iloc[0]["started_at"] == pd.Timestamp("2023-06-08 20:52:41")


def test_empty_end_of_an_active_conversation_is_null():
    row = one(state="active", endAt="", conversationDuration=0, endedReason="")
    assert pd.isna(row["ended_at"]) and pd.isna(row["duration_ms"]) and row["ended_reason"] is None
    assert row["sanity_flag"] is None


@pytest.mark.parametrize("company_id, stored", [(1042, "1042"), ("1042", "1042"), ("cmp-7", "cmp-7"), (1042.0, "1042")])
def test_company_id_of_either_type_is_stored_as_text(company_id, stored):
    assert one(company={"id": company_id})["company_id"] == stored


@pytest.mark.parametrize("missing", ["operator", "assignationMethod", "bot", "company", "user"])
def test_missing_nested_objects_become_nulls(missing):
    record = {k: v for k, v in EXAMPLE.items() if k != missing}
    facts, _ = clean(record)
    column = {"operator": "operator_name", "assignationMethod": "team_name", "bot": "bot_name",
              "company": "company_id", "user": "user_key"}[missing]
    assert facts.iloc[0][column] is None


@pytest.mark.parametrize("reply", [0, None, "", "not a number"])
def test_absent_or_zero_reply_means_no_reply_never_zero_seconds(reply):
    assert pd.isna(one(timeRepliedOperator=reply)["first_reply_ms"])


def test_missing_reply_field_means_no_reply():
    record = {k: v for k, v in EXAMPLE.items() if k != "timeRepliedOperator"}
    facts, summary = clean(record)
    assert pd.isna(facts.iloc[0]["first_reply_ms"]) and summary.no_reply == 1


def test_numeric_string_reply_is_read_as_a_number():
    assert one(timeRepliedOperator="795880")["first_reply_ms"] == 795880


def test_states_are_lower_cased_and_unknown_ones_kept_and_counted():
    facts, summary = clean({**EXAMPLE, "_id": "a", "state": "Closed"}, {**EXAMPLE, "_id": "b", "state": "transferred"})
    assert list(facts["state"]) == ["closed", "transferred"]
    assert summary.unknown_states == {"transferred": 1}


def test_the_same_id_fetched_twice_collapses_to_the_latest_fetch():
    older = {**EXAMPLE, "state": "active", "endAt": ""}
    facts, summary = clean(older, EXAMPLE, fetched=[datetime(2023, 6, 9), datetime(2023, 6, 10)])
    assert len(facts) == 1 and facts.iloc[0]["state"] == "expired"
    assert summary.duplicates_collapsed == 1


def test_negative_duration_is_kept_and_flagged():
    facts, summary = clean({**EXAMPLE, "endAt": EXAMPLE["startAt"], "conversationDuration": -100})
    assert facts.iloc[0]["sanity_flag"] == "negative_duration"
    assert summary.flags == {"negative_duration": 1} and summary.flagged == 1


def test_duration_far_from_end_minus_start_is_flagged():
    assert one(conversationDuration=1000)["sanity_flag"] == "duration_mismatch"


def test_duration_within_a_second_of_end_minus_start_is_not_flagged():
    assert one(conversationDuration=26115999)["sanity_flag"] is None


def test_cleaned_facts_convert_to_the_warehouse_schema():
    facts, _ = clean(EXAMPLE, {**EXAMPLE, "_id": "x", "state": "active", "endAt": "", "timeRepliedOperator": None})
    table = facts_to_arrow(facts)
    assert table.num_rows == 2 and table.column("first_reply_ms").null_count == 1


def test_negative_reply_time_is_no_reply_and_flagged():
    facts, summary = clean({**EXAMPLE, "timeRepliedOperator": -30})
    assert pd.isna(facts.iloc[0]["first_reply_ms"])
    assert facts.iloc[0]["sanity_flag"] == "negative_reply" and summary.flags == {"negative_reply": 1}


# Regressions found by the properties in test_reliability_properties.py.


@pytest.mark.reliability
@pytest.mark.parametrize(
    "field, value",
    [("timeRepliedOperator", float("inf")), ("conversationDuration", "1e400"), ("conversationDuration", 10**30),
     ("timeRepliedOperator", 2**63), ("conversationDuration", -(2**70))],
)
def test_infinite_or_oversized_number_is_null_and_flagged_instead_of_failing_the_day(field: str, value: object) -> None:
    facts, summary = clean({**EXAMPLE, field: value}, {**EXAMPLE, "_id": "healthy"})
    column = {"timeRepliedOperator": "first_reply_ms", "conversationDuration": "duration_ms"}[field]
    assert pd.isna(facts.iloc[0][column]) and "unparseable_number" in facts.iloc[0]["sanity_flag"]
    assert facts.iloc[1][column] == EXAMPLE[field] and facts_to_arrow(facts).num_rows == 2


@pytest.mark.reliability
def test_sub_millisecond_reply_is_no_reply_never_a_zero_ms_reply() -> None:
    facts, summary = clean({**EXAMPLE, "timeRepliedOperator": 0.4})
    assert pd.isna(facts.iloc[0]["first_reply_ms"]) and summary.no_reply == 1


@pytest.mark.reliability
def test_boolean_where_text_is_expected_is_null_not_python_spelling() -> None:
    row = one(state=True, operator={"names": False}, company={"id": True})
    assert pd.isna(row["state"]) and pd.isna(row["operator_name"]) and pd.isna(row["company_id"])


@pytest.mark.reliability
def test_huge_whole_float_id_keeps_its_own_digits() -> None:
    # int(1e300) would print 300 digits the API never sent.
    assert one(company={"id": 1e300})["company_id"] == "1e+300"


@pytest.mark.reliability
@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_json_nan_or_infinity_where_text_is_expected_is_null(value: float) -> None:
    # Python's json reads NaN/Infinity; str() would then store "nan"/"inf", a spelling the API never sent.
    assert pd.isna(one(endedReason=value, user={"id": value})["ended_reason"])


@pytest.mark.reliability
@pytest.mark.parametrize("timezone, start", [("Asia/Kolkata", "0001-01-01 00:00:00"), ("America/Guayaquil", "9999-12-31 23:59:59")])
def test_timestamp_beyond_any_conversations_range_is_null_and_flagged(timezone: str, start: str) -> None:
    # Read at the zone's offset these fall in year 0 or 10000, which no Python or warehouse reader can hold.
    facts, summary = clean({**EXAMPLE, "startAt": start}, timezone=timezone)
    assert pd.isna(facts.iloc[0]["started_at"]) and summary.flags["unparseable_start"] == 1


@pytest.mark.parametrize("text", ["2026-01-15T10:30:00.000Z", "2026-01-15T05:30:00-05:00", "2026-01-15T19:30:00+0900",
                                  "2026-01-15 10:30:00+00:00"])
def test_iso_timestamps_with_a_zone_are_that_instant_whatever_the_response_timezone(text):
    facts, summary = clean({**EXAMPLE, "startAt": text}, timezone="America/Guayaquil")
    assert facts.iloc[0]["started_at"] == pd.Timestamp("2026-01-15 10:30:00")
    assert "unparseable_start" not in summary.flags


def test_iso_timestamps_without_a_zone_are_read_in_the_response_timezone_keeping_fractions():
    facts, _ = clean({**EXAMPLE, "startAt": "2026-01-15T05:30:00.250"}, timezone="America/Guayaquil")
    assert facts.iloc[0]["started_at"] == pd.Timestamp("2026-01-15 10:30:00.250")


@pytest.mark.parametrize("end", [None, ""])
def test_a_null_or_empty_end_of_an_active_conversation_is_null(end):
    assert pd.isna(one(state="active", endAt=end, conversationDuration=0)["ended_at"])


@pytest.mark.parametrize("assignation", [{"teamName": ""}, {}, None, "missing"])
def test_team_falls_back_to_the_operators_team_and_says_so(assignation):
    record = {**EXAMPLE, "operator": {"names": "OPERATOR_NAME", "team": "Soporte"}, "assignationMethod": assignation}
    if assignation == "missing":
        del record["assignationMethod"]
    facts, _ = clean(record)
    assert (facts.iloc[0]["team_name"], facts.iloc[0]["team_source"]) == ("Soporte", "operator.team")


def test_the_assignation_team_wins_over_the_operators_and_says_so():
    row = one(operator={"names": "OPERATOR_NAME", "team": "Soporte"})
    assert (row["team_name"], row["team_source"]) == ("TEAM_NAME", "assignationMethod.teamName")


def test_a_record_with_no_team_anywhere_has_no_team_source():
    row = one(assignationMethod={"teamName": "  "})
    assert pd.isna(row["team_name"]) and pd.isna(row["team_source"])
