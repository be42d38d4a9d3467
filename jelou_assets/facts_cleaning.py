"""Raw API records -> one typed row per conversation (the `conversation_facts` columns).

Rules for the API's real shapes: `startAt`/`endAt` in the documented naive form (`YYYY-MM-DD HH:MM:SS`) are
read in JELOU_RESPONSE_TIMEZONE; ISO 8601 with `T`, fractional seconds, and `Z` or an offset (what Node's
`Date#toJSON` writes) is that instant, whatever the setting; all are stored as UTC; an empty or null
`endAt` (active conversation) is null; `company.id` may be int or str and is stored as
text; a missing nested object is null; `timeRepliedOperator` 0, null, missing or non-numeric means the
operator never replied (null), never a 0-second reply (a negative one is null and flagged; one that rounds to
0 ms is null); states are lower-cased and unknown ones kept. The team is `assignationMethod.teamName`, else
`operator.team` (as Jelou's own web client reads it); `team_source` says which. The customer's `user.id` is
never stored: `user_key` is its keyed pseudonym (a redacted old payload carries the pseudonym itself). A number that is infinite or beyond 2**53 ms is
not a number (null, flagged `unparseable_number`). Booleans, NaN and infinities are never text (null).
A timestamp outside 1677-09-22..2262-04-11 UTC is unreadable (null; `unparseable_start` for startAt).
Rows whose numbers contradict each other are kept and flagged, never dropped.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from jelou_assets.privacy.pseudonyms import PSEUDONYM_FIELD, user_keys
from jelou_assets.warehouse.tables import arrow_schema, conversation_facts

KNOWN_STATES = frozenset({"active", "closed", "resolved", "expired"})
# The API's own example: conversationDuration and endAt - startAt agree to the second.
DURATION_TOLERANCE_S = 60
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
# Every other form read: ISO 8601 date and time to the second, optional fraction, optional zone.
# [0-9], not \d: Python's \d also matches other scripts' digits, which no timestamp is written in.
ISO_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?")
ZONE_SUFFIX = r"(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)$"
TEAM_SOURCES = ("assignationMethod.teamName", "operator.team")
# Beyond 2**53 a float no longer holds every integer, so a larger count of milliseconds (285,000 years)
# cannot be stored as the number the API sent; it is treated as not a number, like infinities.
LARGEST_EXACT_MS = 2**53
# A timestamp outside pandas' classic nanosecond range is no conversation's; kept, year 1 read at a positive
# offset becomes year 0, which neither Python's datetime nor a reader of the warehouse can hold.
EARLIEST_TIMESTAMP = pd.Timestamp("1677-09-22")
# orjson reads an integer literal beyond 64 bits as a float, where the json module keeps every digit (a
# company id of 30 digits would be stored as "1e+29"). Any run of 19 digits sends the text to the json module.
WIDE_NUMBER = "[0-9]{19}"
LATEST_TIMESTAMP = pd.Timestamp("2262-04-11")

FACTS_SCHEMA = arrow_schema(conversation_facts)


@dataclass
class CleaningSummary:
    rows: int = 0
    duplicates_collapsed: int = 0
    no_reply: int = 0
    active: int = 0
    unknown_states: dict[str, int] = field(default_factory=dict)
    flags: dict[str, int] = field(default_factory=dict)

    @property
    def flagged(self) -> int:
        return sum(self.flags.values())


_NO_OBJECT: dict[str, Any] = {}  # stands in for a missing or non-object nested value; never written to


def _objects(records: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """`record[key]` of every record when it is an object, else an empty one (read once, shared by its leaves)."""
    return [value if type(value := record.get(key)) is dict else _NO_OBJECT for record in records]


def _texts(records: list[dict[str, Any]], key: str) -> list[str | None]:
    """`record[key]` of every record as text: None when missing, empty, an object or a list; whole floats
    lose their `.0`. Plain strings (the common case) are handled inline, in one pass."""
    return [
        (value.strip() or None) if type(value := record.get(key)) is str else None if value is None else leaf_text(value)
        for record in records
    ]


def leaf_text(value: Any) -> str | None:
    """A JSON leaf as the facts store it: stripped text, or None when it is no text, name or id."""
    # A boolean is no name or id; str() would invent Python's spelling ("True") for JSON's `true`.
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON's NaN/Infinity extensions: str() would spell them Python's way ("nan", "inf")
    # Only exactly-held whole floats lose their `.0`: int(1e300) would print 300 digits the API never sent.
    if isinstance(value, float) and value.is_integer() and abs(value) <= LARGEST_EXACT_MS:
        value = int(value)
    text = str(value).strip()
    return text or None


def _utc(values: pd.Series, timezone: str) -> pd.Series:
    """Naive UTC timestamps (microseconds) of the texts in `values`; NaT where a text is not a timestamp."""
    utc = _local_to_utc(pd.to_datetime(values, format=TIMESTAMP_FORMAT, errors="coerce"), timezone)
    # The documented form is the fast path; only what it could not read is tried as ISO 8601.
    other = values[utc.isna() & values.notna()]
    iso = other[other.str.fullmatch(ISO_TIMESTAMP).fillna(False).astype(bool)]
    if len(iso):
        aware = iso.str.contains(ZONE_SUFFIX)
        instants = pd.to_datetime(iso[aware], format="ISO8601", utc=True, errors="coerce")
        local = pd.to_datetime(iso[~aware], format="ISO8601", errors="coerce")
        parsed = pd.concat([instants.dt.tz_localize(None).astype("datetime64[us]"), _local_to_utc(local, timezone)])
        utc = utc.where(~utc.index.isin(parsed.index), parsed.reindex(utc.index))
    return utc.where(utc.between(EARLIEST_TIMESTAMP, LATEST_TIMESTAMP))


def _local_to_utc(local: pd.Series, timezone: str) -> pd.Series:
    return (
        local.dt.tz_localize(timezone, ambiguous=False, nonexistent="shift_forward")
        .dt.tz_convert("UTC")
        .dt.tz_localize(None)
        .astype("datetime64[us]")
    )


def _milliseconds(values: list[Any]) -> tuple[pd.Series, pd.Series]:
    """Numbers (numeric strings included) as float; and which non-empty values were not numbers."""
    numbers = pd.Series([None if isinstance(v, bool) else v for v in values], dtype=object)
    numeric = pd.to_numeric(numbers, errors="coerce").astype("float64")
    # Infinities, NaN spelled out and numbers too large to hold exactly are not milliseconds; left in,
    # they would fail the whole day's conversion to int64.
    numeric = numeric.where(numeric.abs() <= LARGEST_EXACT_MS)
    present = pd.Series([v is not None and v != "" for v in values], dtype=bool)
    return numeric.astype("float64"), present & numeric.isna()


def clean_conversations(
    raw: pd.DataFrame | pa.Table, response_timezone: str, pseudonym_key: str
) -> tuple[pd.DataFrame, CleaningSummary]:
    """`raw` has `partition_date`, `conversation_id`, `payload`, `fetched_at` (a DataFrame, or the Arrow
    table the warehouse returns, whose payloads are then never turned into a pandas column); returns facts
    and a summary."""
    summary = CleaningSummary()
    if isinstance(raw, pa.Table):
        payloads = raw.column("payload")
        keys = raw.select(["partition_date", "conversation_id", "fetched_at"]).to_pandas()
    else:
        payloads = raw["payload"].tolist()
        keys = raw[["partition_date", "conversation_id", "fetched_at"]].reset_index(drop=True)
    deduped = keys.sort_values("fetched_at", kind="stable").drop_duplicates("conversation_id", keep="last")
    summary.duplicates_collapsed = len(keys) - len(deduped)
    positions = deduped.index.to_numpy()
    deduped = deduped.reset_index(drop=True)
    if isinstance(payloads, pa.ChunkedArray):
        records = parse_payloads(payloads.take(positions))
    else:
        records = parse_payloads([payloads[position] for position in positions])

    started_at = _utc(pd.Series(_texts(records, "startAt"), dtype=object), response_timezone)
    ended_at = _utc(pd.Series(_texts(records, "endAt"), dtype=object), response_timezone)
    reply, reply_not_number = _milliseconds([r.get("timeRepliedOperator") for r in records])
    duration, duration_not_number = _milliseconds([r.get("conversationDuration") for r in records])
    state = pd.Series([text.lower() if text else None for text in _texts(records, "state")], dtype=object)

    is_active = state.eq("active")
    operators, users = _objects(records, "operator"), _objects(records, "user")
    assigned_team = pd.Series(_texts(_objects(records, "assignationMethod"), "teamName"), dtype=object)
    operator_team = pd.Series(_texts(operators, "team"), dtype=object)
    team_source = pd.Series(
        np.select([assigned_team.notna(), operator_team.notna()], TEAM_SOURCES, default=None), dtype=object
    )
    # Rounded before the test: 0.4 ms would otherwise be stored as a 0 ms reply.
    first_reply_ms = reply.round().where(reply.round() > 0).astype("Int64")
    duration_ms = duration.where(~(is_active & (duration.fillna(0) == 0))).round().astype("Int64")

    elapsed_s = (ended_at - started_at).dt.total_seconds()
    flag_rules = {
        "unparseable_start": started_at.isna(),
        "unparseable_number": reply_not_number | duration_not_number,
        "negative_duration": (duration < 0) | (elapsed_s < 0),
        "negative_reply": reply < 0,
        "duration_mismatch": (duration / 1000 - elapsed_s).abs() > DURATION_TOLERANCE_S,
    }
    flags = pd.Series([None] * len(records), dtype=object)
    for name, hits in flag_rules.items():
        hits = hits.fillna(False).astype(bool)
        if hits.any():
            summary.flags[name] = int(hits.sum())
            flags = flags.where(~hits, flags.fillna("").map(lambda prior, n=name: f"{prior},{n}" if prior else n))

    facts = pd.DataFrame(
        {
            "conversation_id": deduped["conversation_id"].astype(str),
            "partition_date": pd.to_datetime(deduped["partition_date"]).dt.date,
            "started_at": started_at,
            "ended_at": ended_at,
            "state": state,
            "ended_reason": _texts(records, "endedReason"),
            "origin": _texts(records, "origin"),
            "operator_name": _texts(operators, "names"),
            "team_name": assigned_team.fillna(operator_team),
            "team_source": team_source,
            "bot_name": _texts(_objects(records, "bot"), "name"),
            "company_id": _texts(_objects(records, "company"), "id"),
            "user_key": pd.Series(user_keys(_texts(users, "id"), pseudonym_key), dtype=object).fillna(
                pd.Series(_texts(users, PSEUDONYM_FIELD), dtype=object)
            ),
            "first_reply_ms": first_reply_ms,
            "duration_ms": duration_ms,
            "sanity_flag": flags,
            "fetched_at": pd.to_datetime(deduped["fetched_at"]).astype("datetime64[us]"),
        }
    )
    summary.rows = len(facts)
    summary.no_reply = int(first_reply_ms.isna().sum())
    summary.active = int(is_active.sum())
    unknown = state[state.notna() & ~state.isin(KNOWN_STATES)]
    summary.unknown_states = {str(k): int(v) for k, v in unknown.value_counts().items()}
    return facts, summary


def facts_to_arrow(facts: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(facts, schema=FACTS_SCHEMA, preserve_index=False)


def parse_payloads(payloads: Sequence[Any] | pa.Array | pa.ChunkedArray) -> list[dict[str, Any]]:
    """Each payload as `json.loads` reads it, or {} when it is not a JSON object (or not JSON at all).

    orjson parses the common case in bulk; what it reads differently from the json module (NaN and
    Infinity, 1e400, lone surrogates, integers beyond 64 bits) either fails there or is sent to the json
    module up front (WIDE_NUMBER, matched over the whole column at once), so the result is the same.
    """
    if isinstance(payloads, (pa.Array, pa.ChunkedArray)):
        column = payloads
    else:
        try:
            column = pa.array(payloads, pa.string())
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # not all texts: each goes its own way below
            return [_as_object(payload, wide=True) for payload in payloads]
    wide = pc.match_substring_regex(column, WIDE_NUMBER).fill_null(False).to_pylist()
    return [_as_object(payload, flag) for payload, flag in zip(column.to_pylist(), wide)]


def _as_object(payload: Any, wide: bool) -> dict[str, Any]:
    try:
        value = json.loads(payload) if wide else orjson.loads(payload)
    except (TypeError, ValueError):  # orjson.JSONDecodeError is a ValueError
        if wide:
            return {}
        try:
            value = json.loads(payload)
        except (TypeError, ValueError):
            return {}
    return value if type(value) is dict else {}
