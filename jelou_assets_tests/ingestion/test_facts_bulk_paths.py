"""The facts step's bulk paths read exactly what the json module and the DataFrame path read."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jelou_assets.defs.ingestion.raw_conversations import RAW_SCHEMA
from jelou_assets.facts_cleaning import clean_conversations, parse_payloads

DAY = date(2024, 3, 1)
KEY = "bulk-path-test-key"


def as_json_module_reads(text: Any) -> dict[str, Any]:
    """The reference reading: `json.loads`, and {} for anything that is not a JSON object."""
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


json_leaves = st.one_of(
    st.none(), st.booleans(), st.text(max_size=8), st.floats(allow_nan=True, allow_infinity=True),
    st.integers(), st.integers(min_value=2**63 - 10, max_value=2**70), st.integers(min_value=-(2**70), max_value=-(2**63) + 10),
)
json_values = st.recursive(json_leaves, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=10)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(json_values.map(json.dumps), json_values.map(lambda v: json.dumps(v, ensure_ascii=False)), st.text(max_size=20)), max_size=8))
def test_parsed_payloads_equal_what_the_json_module_reads(texts: list[str]) -> None:
    expected = [as_json_module_reads(text) for text in texts]
    # repr, not ==: 1 == 1.0 == True, and NaN != NaN; the types and spellings must agree too.
    assert repr(parse_payloads(texts)) == repr(expected)
    if all(text.encode("utf-8", "surrogatepass") == text.encode("utf-8", "ignore") for text in texts):
        # What the warehouse returns (valid UTF-8 only: a lone surrogate cannot be stored as text).
        assert repr(parse_payloads(pa.array(texts, pa.string()))) == repr(expected)


@pytest.mark.parametrize("text", [
    '{"company": {"id": 100000000000000000000000000000}}',  # beyond 64 bits: orjson would read 1e+29
    '{"timeRepliedOperator": NaN, "state": "closed"}',
    '{"conversationDuration": 1e400}',
    '{"user": {"id": "\\ud800"}}',
    '{"a": 1, "a": 2}',
])
def test_shapes_orjson_reads_differently_are_read_as_the_json_module_reads_them(text: str) -> None:
    assert repr(parse_payloads([text])) == repr([json.loads(text)])


def test_payloads_that_are_not_text_or_not_objects_become_empty_records() -> None:
    assert parse_payloads([None, "[1, 2]", "not json", 7, '"text"']) == [{}, {}, {}, {}, {}]


def test_the_warehouse_arrow_table_cleans_to_the_same_facts_as_a_dataframe() -> None:
    records = [
        {"_id": "a", "startAt": "2024-03-01 10:00:00", "endAt": "2024-03-01 10:05:00", "state": " Closed ",
         "timeRepliedOperator": 1200, "conversationDuration": 300000, "user": {"id": "593900000001"},
         "company": {"id": 1042.0}, "operator": {"names": "Ana", "team": "Soporte"}},
        {"_id": "b", "startAt": "2024-03-01T10:00:00Z", "state": "active", "timeRepliedOperator": "0",
         "assignationMethod": {"teamName": "Ventas"}, "company": {"id": 10**30}},
        {"_id": "a", "startAt": "2024-03-01 11:00:00", "state": "expired"},  # fetched again later: this one wins
    ]
    frame = pd.DataFrame({
        "partition_date": [DAY] * 3,
        "conversation_id": [r["_id"] for r in records],
        "payload": [json.dumps(r) for r in records],
        "fetched_at": [datetime(2024, 3, 2, 1), datetime(2024, 3, 2, 1), datetime(2024, 3, 2, 2)],
    })
    table = pa.Table.from_pandas(frame, schema=RAW_SCHEMA, preserve_index=False)
    from_frame, frame_summary = clean_conversations(frame, "America/Guayaquil", KEY)
    from_table, table_summary = clean_conversations(table, "America/Guayaquil", KEY)
    pd.testing.assert_frame_equal(from_table, from_frame)
    assert table_summary == frame_summary and table_summary.duplicates_collapsed == 1
    assert from_table.set_index("conversation_id").loc["b", "company_id"] == str(10**30)
