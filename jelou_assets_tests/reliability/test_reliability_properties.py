"""Properties, over generated inputs, of the two places where bad data could slip through silently:

- the page walker returns exactly one consistent snapshot of the API's list, or fails naming why;
- the facts cleaner turns any record, however ill-typed, into one row whose values all come from it.

Examples are derandomized (fixed seed per test) so CI sees the same cases on every run.
"""

from __future__ import annotations

import json
import math
import re
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from jelou_assets.client.errors import JelouPaginationError
from jelou_assets.client.page_walker import Page, Walk, walk_pages
from jelou_assets.facts_cleaning import LARGEST_EXACT_MS, TIMESTAMP_FORMAT, clean_conversations, facts_to_arrow

pytestmark = pytest.mark.reliability

PROPERTY_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# ---------------------------------------------------------------- page walker


@dataclass(frozen=True)
class Lie:
    """A well-formed answer that misreports the data: on the `request`-th answer, or on every one."""

    kind: str  # "duplicate" | "short" | "total_pages" | "total" | "offset"
    request: int | None  # 1-based answer number; None = every answer
    amount: int = 1


@dataclass
class ApiModel:
    """Jelou's endpoint in memory: one ordered list of conversations, paged by offset from its current state.

    Drift inserts conversations after given answers, at given positions, as new arrivals do (the window
    is ordered by start time, so a late-arriving conversation can land anywhere). Every state the list
    ever had is kept: a walk is right only if it equals one of them exactly.
    """

    records: list[str]
    limit: int
    insertions: dict[int, list[tuple[float, int]]]  # after answer n: (relative position, how many) each
    lies: list[Lie] = field(default_factory=list)
    omit_offset: bool = False
    answers: int = 0
    snapshots: list[tuple[str, ...]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _arrived: int = 0

    def __post_init__(self) -> None:
        self.snapshots.append(tuple(self.records))

    def page(self, number: int) -> Page:
        # One lock around read-and-drift: each answer sees one state, and the sequence of states is the
        # same in every run of an example whatever order the walker's threads come in.
        with self._lock:
            self.answers += 1
            answer = self.answers
            total = len(self.records)
            offset = (number - 1) * self.limit
            ids = list(self.records[max(offset, 0) : max(offset, 0) + self.limit]) if number >= 1 else []
            total_pages = math.ceil(total / self.limit)
            reported_total, reported_offset = total, offset
            for lie in self.lies:
                if lie.request not in (None, answer):
                    continue
                if lie.kind == "duplicate" and len(ids) >= 2:
                    ids[-1] = ids[0]
                elif lie.kind == "duplicate" and ids and total > len(ids):
                    ids[-1] = self.records[(offset + self.limit) % total]
                elif lie.kind == "short" and ids:
                    ids.pop()
                elif lie.kind == "total_pages":
                    total_pages += lie.amount
                elif lie.kind == "total":
                    reported_total += lie.amount
                elif lie.kind == "offset":
                    reported_offset += lie.amount
            for position, count in self.insertions.get(answer, []):
                at = round(position * len(self.records))
                self.records[at:at] = [f"new-{answer}-{self._arrived + k}" for k in range(count)]
                self._arrived += count
                self.snapshots.append(tuple(self.records))
        return Page(
            number=number,
            ids=ids,
            payloads=[json.dumps({"_id": i, "startAt": "2025-03-01 10:00:00"}) for i in ids],
            total=reported_total,
            total_pages=total_pages,
            limit=self.limit,
            offset=None if self.omit_offset else reported_offset,
        )


def walk(api: ApiModel, *, max_in_flight: int, max_rewalks: int) -> Walk | JelouPaginationError:
    try:
        return walk_pages(api.page, max_in_flight=max_in_flight, max_rewalks=max_rewalks)
    except JelouPaginationError as error:
        return error


insertions = st.dictionaries(
    st.one_of(st.integers(1, 6), st.integers(1, 60)),  # early arrivals race the walk; later ones may miss it
    st.lists(st.tuples(st.floats(0, 1), st.integers(1, 3)), min_size=1, max_size=2),
    max_size=4,
)
lies = st.lists(
    st.builds(
        Lie,
        kind=st.sampled_from(["duplicate", "short", "total_pages", "total", "offset"]),
        request=st.one_of(st.none(), st.integers(1, 40)),
        amount=st.sampled_from([-3, -2, -1, 1, 2, 3, 10**6, -(10**6)]),
    ),
    max_size=2,
)


@st.composite
def api_models(draw: st.DrawFn, *, drift: bool = True, lying: bool = True) -> ApiModel:
    total = draw(st.one_of(st.integers(0, 120), st.integers(0, 2000)))
    return ApiModel(
        records=[f"c{n:05d}" for n in range(total)],
        limit=draw(st.one_of(st.integers(1, 60), st.sampled_from([50, 1000]))),
        insertions=draw(insertions) if drift else {},
        lies=draw(lies) if lying else [],
        omit_offset=draw(st.booleans()),
    )


@settings(PROPERTY_SETTINGS, max_examples=400)  # cheap (in memory): more drift and lie patterns
@given(api=api_models(), max_in_flight=st.integers(1, 8), max_rewalks=st.integers(0, 3))
def test_walk_is_exactly_one_snapshot_of_the_api_or_a_pagination_error_naming_the_problem(
    api: ApiModel, max_in_flight: int, max_rewalks: int
) -> None:
    outcome = walk(api, max_in_flight=max_in_flight, max_rewalks=max_rewalks)
    event("rejected" if isinstance(outcome, JelouPaginationError) else f"accepted on walk {outcome.walks}")
    event("drift happened" if len(api.snapshots) > 1 else "no drift")
    if isinstance(outcome, JelouPaginationError):
        assert "never added up" in str(outcome) and "last problem: " in str(outcome)
        assert str(outcome).split("last problem: ", 1)[1].strip(), "the error must say what did not add up"
        return
    assert len(set(outcome.ids)) == len(outcome.ids), "a conversation would be stored twice"
    assert sorted(outcome.ids) in [sorted(snapshot) for snapshot in api.snapshots], "a set the API never held"
    if not api.lies:
        # Lies can rotate records between pages (each page showing the next one's first record): the set
        # is then still exact, only its order is not the API's, which the warehouse does not keep anyway.
        assert tuple(outcome.ids) in api.snapshots, "the API's order was not kept"
    assert [json.loads(text)["_id"] for text in outcome.payloads] == outcome.ids
    assert outcome.api_total == len(outcome.ids)
    assert outcome.pages == max(1, math.ceil(len(outcome.ids) / api.limit))
    assert 1 <= outcome.walks <= max_rewalks + 1 and len(outcome.inconsistencies) == outcome.walks - 1


@PROPERTY_SETTINGS
@given(api=api_models(drift=False, lying=False), max_in_flight=st.integers(1, 8))
def test_a_still_honest_api_is_walked_once_and_completely(api: ApiModel, max_in_flight: int) -> None:
    outcome = walk(api, max_in_flight=max_in_flight, max_rewalks=0)
    assert not isinstance(outcome, JelouPaginationError), outcome
    assert outcome.ids == list(api.snapshots[0]) and outcome.walks == 1
    assert api.answers == max(1, math.ceil(len(api.snapshots[0]) / api.limit))


@PROPERTY_SETTINGS
@given(
    total=st.integers(1, 500),
    limit=st.integers(1, 60),
    arrivals=st.integers(1, 5),
    position=st.floats(0, 1),
    max_in_flight=st.integers(1, 8),
)
def test_arrivals_during_the_first_walk_only_are_recovered_by_the_next_walk(
    total: int, limit: int, arrivals: int, position: float, max_in_flight: int
) -> None:
    # The arrival lands right after page 1 of walk 1 was answered; walk 2 sees the new, stable state.
    api = ApiModel(records=[f"c{n:05d}" for n in range(total)], limit=limit, insertions={1: [(position, arrivals)]})
    outcome = walk(api, max_in_flight=max_in_flight, max_rewalks=1)
    assert not isinstance(outcome, JelouPaginationError), outcome
    if total <= limit:  # a single-page window was already complete after page 1 of walk 1
        assert outcome.ids == list(api.snapshots[0]) and outcome.walks == 1
    else:
        assert outcome.ids == list(api.snapshots[-1]) and len(outcome.ids) == total + arrivals and outcome.walks == 2


@pytest.mark.parametrize("total_pages", [10**6, -1])
def test_absurd_total_pages_is_rejected_before_fetching_them(total_pages: int) -> None:
    fetched: list[int] = []
    lock = threading.Lock()

    def fetch(number: int) -> Page:
        with lock:
            fetched.append(number)
        return Page(number=number, ids=["a"] if number == 1 else [], payloads=['{"_id":"a"}'] if number == 1 else [],
                    total=1, total_pages=total_pages, limit=50, offset=(number - 1) * 50)

    with pytest.raises(JelouPaginationError, match=f"totalPages={total_pages}"):
        walk_pages(fetch, max_in_flight=4, max_rewalks=2)
    assert fetched == [1, 1, 1], "only page 1 of each walk should be asked for"


# ---------------------------------------------------------------- facts cleaner

DAY = date(2025, 3, 1)
FETCHED = datetime(2025, 3, 2, 6, 0)
MISSING = object()
TOP_TEXT_KEYS = {"endedReason": "ended_reason", "origin": "origin"}
NESTED_TEXT_KEYS = {
    ("operator", "names"): "operator_name",
    ("assignationMethod", "teamName"): "team_name",
    ("bot", "name"): "bot_name",
    ("company", "id"): "company_id",
}

weird_strings = st.sampled_from(
    [
        "", " ", "\t\n", "null", "None", "NaN", "nan", "inf", "-Infinity", "-0", "0.0", "1e400", "-1e400", "0x10",
        "1_000", " 795880 ", "٧٩٥", "７９５", "+5", "1,5", "9223372036854775808", "2023-06-08 15:52:41",
        "2023-06-08T15:52:41", "2023-06-08T15:52:41Z", "2023-06-08 15:52:41+02:00", "2023-06-08 15:52:41.123",
        "2023-13-40 25:61:61", "0001-01-01 00:00:00", "9999-12-31 23:59:59", "2262-04-11 23:47:16",
        "1677-09-21 00:12:43", "２０２３-０６-０８ １５:５２:４１", "'; DROP TABLE jelou.raw_conversations; --",
        "ACTIVE ", " Closed", "İstanbul", "Ærøskøbing — José Núñez 🙂", "\u200b", "\\", '"', "$$",
    ]
)
numbers = st.one_of(
    st.integers(-(2**70), 2**70),
    st.integers(-1000, 10**8),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 0.0, -0.0, 0.4, 0.5, 1.5, 2**53, 2**53 + 1, 2**63, -(2**63) - 1, 1e300, 1042.0]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=12), weird_strings)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)
timestamps = st.one_of(
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1)).map(lambda d: d.strftime(TIMESTAMP_FORMAT)),
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1)).map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S%z") + "+00:00"),
    weird_strings,
    json_values,
)
states = st.one_of(st.sampled_from(["active", "closed", "resolved", "expired", "Transferred", " EXPIRED ", ""]), json_values)
quantities = st.one_of(numbers, numbers.map(str), weird_strings, json_values)


def nested(inner: str) -> st.SearchStrategy[Any]:
    return st.one_of(st.fixed_dictionaries({}, optional={inner: scalars, "extra": json_values}), json_values)


records = st.fixed_dictionaries(
    {},
    optional={
        "startAt": timestamps,
        "endAt": timestamps,
        "state": states,
        "endedReason": scalars,
        "origin": scalars,
        "timeRepliedOperator": quantities,
        "conversationDuration": quantities,
        **{outer: nested(inner) for outer, inner in NESTED_TEXT_KEYS},
    },
)
payloads = st.one_of(records, records, records, json_values)  # mostly objects, sometimes any JSON at all


def clean(payload_list: list[Any], response_timezone: str) -> tuple[pd.DataFrame, Any]:
    raw = pd.DataFrame(
        {
            "partition_date": [DAY] * len(payload_list),
            "conversation_id": [f"c{n}" for n in range(len(payload_list))],
            "payload": [json.dumps(p, ensure_ascii=False) for p in payload_list],
            "fetched_at": [FETCHED] * len(payload_list),
        }
    )
    return clean_conversations(raw, response_timezone, "property-test-key")


def leaf(payload: Any, key: str, inner: str | None = None) -> Any:
    value = payload.get(key, MISSING) if isinstance(payload, dict) else MISSING
    if inner is not None:
        value = value.get(inner, MISSING) if isinstance(value, dict) else MISSING
    return value


def as_number(value: Any) -> float | None:
    """What the input says as a number, by Python's own reading; None when it is not one."""
    if isinstance(value, bool) or value is MISSING or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def is_null(value: Any) -> bool:
    return value is None or (not isinstance(value, (list, dict)) and pd.isna(value))


def traces_to_text(out: Any, value: Any) -> bool:
    """`out` is the input's own text: the string itself (trimmed) or the number it holds."""
    if isinstance(value, str):
        return out == value.strip()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return float(out) == float(value) if isinstance(value, float) else out == str(value)
    except ValueError:
        return False


def local_to_utc(text: str, tz: str) -> datetime:
    return datetime.strptime(text, TIMESTAMP_FORMAT).replace(tzinfo=ZoneInfo(tz)).astimezone(timezone.utc).replace(tzinfo=None)


def traces_to_timestamp(out: pd.Timestamp, value: Any, tz: str) -> bool:
    """`out` is the input's `YYYY-MM-DD HH:MM:SS` read in `tz`, give or take a DST transition's hour; or the
    instant an ISO 8601 text with `Z` or an offset names, exactly (to the microsecond)."""
    if not isinstance(value, str) or not value.strip().isascii():
        return False
    try:
        expected = local_to_utc(value.strip(), tz)
    except ValueError:
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            return False
        if parsed.tzinfo is not None:
            return out.to_pydatetime() == parsed.astimezone(timezone.utc).replace(tzinfo=None)
        expected = parsed.replace(tzinfo=ZoneInfo(tz)).astimezone(timezone.utc).replace(tzinfo=None)
    return abs(out.to_pydatetime() - expected) <= timedelta(hours=1)


def flags_of(row: pd.Series) -> set[str]:
    return set() if is_null(row["sanity_flag"]) else set(row["sanity_flag"].split(","))


facts_inputs = given(
    payload_list=st.lists(payloads, min_size=1, max_size=12),
    response_timezone=st.sampled_from(["UTC", "America/Guayaquil", "Asia/Kolkata"]),
)


@PROPERTY_SETTINGS
@facts_inputs
def test_every_record_becomes_exactly_one_row_that_fits_the_warehouse(payload_list: list[Any], response_timezone: str) -> None:
    facts, summary = clean(payload_list, response_timezone)
    assert list(facts["conversation_id"]) == [f"c{n}" for n in range(len(payload_list))]
    assert summary.rows == len(facts) == len(payload_list) and summary.duplicates_collapsed == 0
    assert facts_to_arrow(facts).num_rows == len(payload_list)


@PROPERTY_SETTINGS
@facts_inputs
def test_every_text_value_is_the_inputs_own_text(payload_list: list[Any], response_timezone: str) -> None:
    facts, _ = clean(payload_list, response_timezone)
    for payload, (_, row) in zip(payload_list, facts.iterrows()):
        for key, column in TOP_TEXT_KEYS.items():
            assert is_null(row[column]) or traces_to_text(row[column], leaf(payload, key)), (column, row[column])
        for (outer, inner), column in NESTED_TEXT_KEYS.items():
            assert is_null(row[column]) or traces_to_text(row[column], leaf(payload, outer, inner)), (column, row[column])
        user_id = leaf(payload, "user", "id")
        if is_null(row["user_key"]):
            assert user_id in (MISSING, None) or not str(user_id).strip() or isinstance(user_id, (dict, list, bool))
        else:  # a pseudonym: never the customer's id, nor any text of it
            assert re.fullmatch("[0-9a-f]{64}", row["user_key"]) and str(user_id).strip() not in row["user_key"]
        state = leaf(payload, "state")
        assert is_null(row["state"]) or (
            traces_to_text(row["state"], state) if not isinstance(state, str) else row["state"] == state.strip().lower()
        )


@PROPERTY_SETTINGS
@facts_inputs
def test_every_number_is_the_inputs_own_number_and_a_reply_is_never_zero(payload_list: list[Any], response_timezone: str) -> None:
    facts, _ = clean(payload_list, response_timezone)
    for payload, (_, row) in zip(payload_list, facts.iterrows()):
        reply, duration = as_number(leaf(payload, "timeRepliedOperator")), as_number(leaf(payload, "conversationDuration"))
        if not is_null(row["first_reply_ms"]):
            assert reply is not None and abs(row["first_reply_ms"] - reply) <= 0.5 and row["first_reply_ms"] > 0
        if not is_null(row["duration_ms"]):
            assert duration is not None and abs(row["duration_ms"] - duration) <= 0.5
        # Liveness: a plain positive integer within any real conversation's length is kept as is.
        raw_reply = leaf(payload, "timeRepliedOperator")
        if type(raw_reply) is int and 0 < raw_reply < 10**12:
            assert row["first_reply_ms"] == raw_reply


@PROPERTY_SETTINGS
@facts_inputs
def test_every_timestamp_is_parsed_from_the_input(payload_list: list[Any], response_timezone: str) -> None:
    facts, _ = clean(payload_list, response_timezone)
    for payload, (_, row) in zip(payload_list, facts.iterrows()):
        for key, column in (("startAt", "started_at"), ("endAt", "ended_at")):
            assert is_null(row[column]) or traces_to_timestamp(row[column], leaf(payload, key), response_timezone), (
                column, row[column], leaf(payload, key)
            )
        start = leaf(payload, "startAt")
        if isinstance(start, str) and start.strip().isascii():
            try:
                local_to_utc(start.strip(), "UTC")
            except ValueError:
                continue
            if 2000 <= int(start.strip()[:4]) <= 2100:  # inside any range a warehouse timestamp can hold
                assert not is_null(row["started_at"]), f"well-formed startAt {start!r} lost"


@PROPERTY_SETTINGS
@facts_inputs
def test_contradictions_and_unreadable_values_are_flagged_on_the_kept_row(payload_list: list[Any], response_timezone: str) -> None:
    facts, summary = clean(payload_list, response_timezone)
    flagged_rows = 0
    for payload, (_, row) in zip(payload_list, facts.iterrows()):
        flags = flags_of(row)
        flagged_rows += bool(flags)
        assert ("unparseable_start" in flags) == is_null(row["started_at"])
        for key in ("timeRepliedOperator", "conversationDuration"):
            value = leaf(payload, key)
            if value not in (MISSING, None, "") and as_number(value) is None:
                assert "unparseable_number" in flags, (key, value)
        if not is_null(row["started_at"]) and not is_null(row["ended_at"]) and row["ended_at"] < row["started_at"]:
            assert "negative_duration" in flags
        duration, reply = as_number(leaf(payload, "conversationDuration")), as_number(leaf(payload, "timeRepliedOperator"))
        if duration is not None and -LARGEST_EXACT_MS <= duration < 0:
            assert "negative_duration" in flags
        if reply is not None and -LARGEST_EXACT_MS <= reply < 0:
            assert "negative_reply" in flags and is_null(row["first_reply_ms"])
        for number in (duration, reply):
            if number is not None and not abs(number) <= LARGEST_EXACT_MS:  # infinite, NaN or too large to hold
                assert "unparseable_number" in flags
    assert sum(summary.flags.values()) >= flagged_rows
