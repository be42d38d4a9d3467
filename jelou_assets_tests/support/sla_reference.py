"""Independent pandas implementation of the dbt SLA models: `conversation_sla` and the marts aggregating it.

Written from the definition in docs/SLA.md and the column definitions in
dbt_project/models/marts/docs.md, not from the SQL, so the tests compare two implementations.
Input: a `conversation_facts`-shaped DataFrame (at least partition_date, team_name, operator_name,
origin, state, started_at, ended_at, fetched_at, first_reply_ms, duration_ms), the
`sla_policies` seed (team_name, first_reply_target_s, attainment_goal, optional calendar, with a '*'
default row) and, when a policy names a calendar, the `sla_calendars` and `sla_holidays` seeds as a
`Calendars`. Output: one row per grain with the marts' columns, sorted by the grain, float columns as
float64 (NaN for SQL null), counts as int64, `breached` as bool.

Business seconds are counted here by laying each calendar's opening hours out on its local days with
`zoneinfo`, merging the UTC intervals and adding up their overlap with [start, stop]: a different
algorithm from the SQL's cumulative clock, from the rules alone (docs/SLA.md, "Business hours").
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

NO_TEAM = "(no team)"
NO_OPERATOR = "(no operator)"
NO_ORIGIN = "(no origin)"
CALENDAR_CLOCK = "calendar"  # sla_clock of a policy without a calendar
MAX_CLOCK_DAYS = 366  # a business clock counts at most this long after the start
KNOWN_STATES = ("active", "closed", "resolved", "expired")
STATUSES = ("met", "breached", "pending", "excluded")

TEAM_GRAIN = ["partition_date", "team_name"]
OPERATOR_GRAIN = ["partition_date", "team_name", "operator_name"]
TEAM_CHANNEL_GRAIN = ["partition_date", "team_name", "origin"]
TEAM_PERIOD_GRAIN = ["period_start", "team_name"]
OPERATOR_PERIOD_GRAIN = ["period_start", "team_name", "operator_name"]

COUNT_COLUMNS = [
    "conversations", "replied", "within_sla", "active", "closed", "resolved", "expired", "other_state",
    "met", "breached_conversations", "unanswered", "pending", "excluded",
]
SECONDS_COLUMNS = [
    "sla_target_s", "first_reply_p50_s", "first_reply_p90_s", "first_reply_calendar_p90_s", "first_reply_avg_s",
    "first_reply_max_s", "duration_p50_s", "duration_p90_s",
]
TEXT_COLUMNS = ["sla_clock"]
RATIO_COLUMNS = ["sla_attainment", "attainment_goal", "expired_share", "reply_rate"]
BOOL_COLUMNS = ["breached"]
MEASURE_COLUMNS = [
    "conversations", "replied", "within_sla", "sla_attainment", "attainment_goal", "breached", "sla_target_s",
    "sla_clock", "first_reply_p50_s", "first_reply_p90_s", "first_reply_calendar_p90_s", "first_reply_avg_s",
    "first_reply_max_s", "duration_p50_s", "duration_p90_s", "active", "closed", "resolved", "expired", "other_state", "expired_share",
    "met", "breached_conversations", "unanswered", "pending", "excluded", "reply_rate",
]


def _quantile(values: np.ndarray, q: float) -> float:
    """Continuous quantile with linear interpolation (numpy's default); NaN when empty."""
    return float(np.quantile(values, q, method="linear")) if len(values) else float("nan")


def _later_instant(local: datetime, zone: ZoneInfo) -> float:
    """Epoch seconds of a naive local time; in a DST gap or a repeated hour, the later of its two readings."""
    return max(local.replace(tzinfo=zone, fold=0).timestamp(), local.replace(tzinfo=zone, fold=1).timestamp())


def _minutes(text: str) -> int:
    hours, minutes = str(text).strip().split(":")
    return int(hours) * 60 + int(minutes)


@dataclass
class Calendars:
    """The `sla_calendars` and `sla_holidays` seeds, and the open time they give."""

    hours: pd.DataFrame  # calendar, timezone, weekday, opens, closes
    holidays: pd.DataFrame  # calendar, date
    _days: dict = field(default_factory=dict, repr=False)  # (calendar, local day) -> its UTC openings

    @classmethod
    def from_seeds(cls, seeds: Path) -> Calendars:
        return cls(pd.read_csv(seeds / "sla_calendars.csv", dtype=str), pd.read_csv(seeds / "sla_holidays.csv", dtype=str))

    def __post_init__(self) -> None:
        self._zones = {row.calendar: ZoneInfo(row.timezone) for row in self.hours.itertuples()}
        self._closed = {(row.calendar, date.fromisoformat(row.date)) for row in self.holidays.itertuples()}
        # Each weekday's open pieces, in minutes of that local day: an interval whose closing time is at or
        # before its opening time goes on past midnight, its tail on the next weekday; 24:00 is midnight.
        self._pieces: dict[tuple[str, int], list[tuple[int, int]]] = {}
        for row in self.hours.itertuples():
            weekday, opens = int(row.weekday), _minutes(row.opens)
            closes = 1440 if str(row.closes).strip() == "24:00" else _minutes(row.closes)
            if closes > opens:
                self._pieces.setdefault((row.calendar, weekday), []).append((opens, closes))
            else:
                self._pieces.setdefault((row.calendar, weekday), []).append((opens, 1440))
                if closes > 0:
                    self._pieces.setdefault((row.calendar, weekday % 7 + 1), []).append((0, closes))

    def __contains__(self, calendar: str) -> bool:
        return calendar in self._zones

    def day_openings(self, calendar: str, day: date) -> list[tuple[float, float]]:
        """The UTC intervals (epoch seconds) in which `calendar` is open on its local `day`."""
        key = (calendar, day)
        if key not in self._days:
            zone, midnight = self._zones[calendar], datetime.combine(day, time())
            openings = []
            if key not in self._closed:
                for opens, closes in self._pieces.get((calendar, day.isoweekday()), []):
                    start = _later_instant(midnight + timedelta(minutes=opens), zone)
                    end = _later_instant(midnight + timedelta(minutes=closes), zone)
                    if start < end:
                        openings.append((start, end))
            self._days[key] = openings
        return self._days[key]

    def open_seconds(self, calendar: str, start: datetime, stop: datetime) -> float:
        """Seconds `calendar` is open between two naive UTC instants; negative when `stop` is before `start`."""
        if stop < start:
            return -self.open_seconds(calendar, stop, start)
        t0, t1 = start.replace(tzinfo=UTC).timestamp(), stop.replace(tzinfo=UTC).timestamp()
        intervals = sorted(
            opening
            for offset in range((stop.date() - start.date()).days + 3)
            for opening in self.day_openings(calendar, start.date() - timedelta(days=1) + timedelta(days=offset))
        )
        merged: list[list[float]] = []
        for begin, end in intervals:  # overlapping pieces (a DST gap makes them) count once
            if merged and begin <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([begin, end])
        first = bisect.bisect_left([end for _, end in merged], t0)
        return sum(max(0.0, min(end, t1) - max(begin, t0)) for begin, end in merged[first:] if begin < t1)


NO_CALENDARS = Calendars(
    pd.DataFrame(columns=["calendar", "timezone", "weekday", "opens", "closes"]), pd.DataFrame(columns=["calendar", "date"])
)


def _policy_for(team: str, policies: pd.DataFrame) -> tuple[float, float, str | None]:
    """(target, goal, calendar or None): the team's own row, else the '*' row."""
    by_team = policies.set_index("team_name")
    row = by_team.loc[team] if team in by_team.index else by_team.loc["*"]
    calendar = row["calendar"] if "calendar" in row.index and isinstance(row["calendar"], str) and row["calendar"] else None
    return float(row["first_reply_target_s"]), float(row["attainment_goal"]), calendar


def sla_status(first_reply_s: float, elapsed_s: float, ended: bool, target_s: float, replied: bool | None = None) -> str:
    """The written rule, one conversation at a time (NaN = SQL null), on the policy's clock. `replied`: the operator
    replied at all; on a business clock a reply without a start time has no seconds (`first_reply_s` NaN)."""
    if not np.isnan(first_reply_s):
        return "met" if first_reply_s <= target_s else "breached"
    if replied:
        return "excluded"  # replied, but no start time to read the business clock from
    if not np.isnan(elapsed_s) and elapsed_s > target_s:
        return "breached"  # never replied, and the target time passed before it ended / was fetched
    if not np.isnan(elapsed_s) and not ended:
        return "pending"
    return "excluded"  # left before the target (or no start to measure from)


def _prepared(facts: pd.DataFrame) -> pd.DataFrame:
    frame = facts.copy()
    frame["partition_date"] = pd.to_datetime(frame["partition_date"]).dt.date
    for column, missing in [("team_name", NO_TEAM), ("operator_name", NO_OPERATOR), ("origin", NO_ORIGIN)]:
        values = frame[column] if column in frame else pd.Series([None] * len(frame), index=frame.index)
        frame[column] = values.astype("object").where(values.notna(), missing)
    return frame


def _business_seconds(calendars: Calendars, calendar: str, started: pd.Timestamp, stop: pd.Timestamp) -> float:
    if pd.isna(started) or pd.isna(stop):
        return float("nan")
    stop = min(stop, started + pd.Timedelta(days=MAX_CLOCK_DAYS))
    return calendars.open_seconds(calendar, started.to_pydatetime(), stop.to_pydatetime())


def reference_conversation_sla(facts: pd.DataFrame, policies: pd.DataFrame, calendars: Calendars = NO_CALENDARS) -> pd.DataFrame:
    """conversation_sla computed in pandas: the facts plus sla_clock, sla_target_s, attainment_goal, first_reply_s
    and elapsed_s (on the policy's clock), first_reply_calendar_s, elapsed_calendar_s, duration_s and sla_status."""
    frame = _prepared(facts)
    # one resolution for all three, or filling one with another changes their dtype
    started, ended, fetched = (pd.to_datetime(frame[column]).astype("datetime64[us]") for column in ["started_at", "ended_at", "fetched_at"])
    reply_ms = pd.to_numeric(frame["first_reply_ms"]).astype("float64")
    frame["elapsed_calendar_s"] = (ended.fillna(fetched) - started).dt.total_seconds().astype("float64")
    frame["first_reply_calendar_s"] = reply_ms / 1000.0
    frame["duration_s"] = pd.to_numeric(frame["duration_ms"]).astype("float64") / 1000.0
    team_policy = {team: _policy_for(team, policies) for team in frame["team_name"].unique()}
    policy = [team_policy[team] for team in frame["team_name"]]
    frame["sla_target_s"] = [target for target, _, _ in policy]
    frame["attainment_goal"] = [goal for _, goal, _ in policy]
    clocks = [calendar for _, _, calendar in policy]
    missing = {calendar for calendar in clocks if calendar is not None and calendar not in calendars}
    if missing:
        raise ValueError(f"the policies name calendars {sorted(missing)}: pass their seeds as `calendars`")
    frame["sla_clock"] = [calendar or CALENDAR_CLOCK for calendar in clocks]
    capped_ms = reply_ms.clip(upper=MAX_CLOCK_DAYS * 86_400_000)
    replied_at = started + pd.to_timedelta(capped_ms, unit="ms")
    waited_until = ended.fillna(fetched)
    frame["first_reply_s"] = [
        calendar_s if calendar is None else _business_seconds(calendars, calendar, start, reply)
        for calendar, calendar_s, start, reply in zip(clocks, frame["first_reply_calendar_s"], started, replied_at)
    ]
    frame["elapsed_s"] = [
        calendar_s if calendar is None else _business_seconds(calendars, calendar, start, until)
        for calendar, calendar_s, start, until in zip(clocks, frame["elapsed_calendar_s"], started, waited_until)
    ]
    frame["sla_status"] = [
        sla_status(reply, elapsed, has_end, target, replied)
        for reply, elapsed, has_end, target, replied in zip(
            frame["first_reply_s"].astype("float64"), frame["elapsed_s"].astype("float64"), ended.notna(),
            frame["sla_target_s"], reply_ms.notna(),
        )
    ]
    return frame


def _summarise(group: pd.DataFrame) -> dict:
    first_reply_s = group["first_reply_s"].dropna().to_numpy(dtype="float64")
    first_reply_calendar_s = group["first_reply_calendar_s"].dropna().to_numpy(dtype="float64")
    duration_s = group["duration_s"].dropna().to_numpy(dtype="float64")
    state, status = group["state"], group["sla_status"]
    conversations, replied = len(group), len(first_reply_calendar_s)
    by_status = {name: int((status == name).sum()) for name in STATUSES}
    judged = by_status["met"] + by_status["breached"]
    attainment = by_status["met"] / judged if judged else float("nan")
    goal = float(group["attainment_goal"].iloc[0])
    counts = {name: int((state == name).sum()) for name in KNOWN_STATES}
    return {
        "conversations": conversations,
        "replied": replied,
        "within_sla": by_status["met"],
        "sla_attainment": attainment,
        "attainment_goal": goal,
        "breached": bool(judged and attainment < goal),
        "sla_target_s": float(group["sla_target_s"].iloc[0]),
        "sla_clock": str(group["sla_clock"].max()),
        "first_reply_p50_s": _quantile(first_reply_s, 0.5),
        "first_reply_p90_s": _quantile(first_reply_s, 0.9),
        "first_reply_calendar_p90_s": _quantile(first_reply_calendar_s, 0.9),
        "first_reply_avg_s": float(first_reply_s.mean()) if len(first_reply_s) else float("nan"),
        "first_reply_max_s": float(first_reply_s.max()) if len(first_reply_s) else float("nan"),
        "duration_p50_s": _quantile(duration_s, 0.5),
        "duration_p90_s": _quantile(duration_s, 0.9),
        **counts,
        "other_state": conversations - sum(counts.values()),
        "expired_share": counts["expired"] / conversations,
        "met": by_status["met"],
        "breached_conversations": by_status["breached"],
        "unanswered": conversations - replied,
        "pending": by_status["pending"],
        "excluded": by_status["excluded"],
        "reply_rate": replied / conversations,
    }


def _typed(rows: list[dict], columns: list[str], grain: list[str]) -> pd.DataFrame:
    result = pd.DataFrame(rows, columns=columns)
    for column in COUNT_COLUMNS:
        result[column] = result[column].astype("int64")
    for column in SECONDS_COLUMNS + RATIO_COLUMNS:
        result[column] = result[column].astype("float64")
    result["breached"] = result["breached"].astype(bool)
    for column in TEXT_COLUMNS:
        result[column] = result[column].astype(object)
    return result.sort_values(grain, ignore_index=True)


def _reference(facts: pd.DataFrame, policies: pd.DataFrame, grain: list[str], calendars: Calendars) -> pd.DataFrame:
    frame = reference_conversation_sla(facts, policies, calendars)
    rows = [{**dict(zip(grain, key)), **_summarise(group)} for key, group in frame.groupby(grain, sort=True, dropna=False)]
    return _typed(rows, grain + MEASURE_COLUMNS, grain)


def reference_team_sla(facts: pd.DataFrame, policies: pd.DataFrame, calendars: Calendars = NO_CALENDARS) -> pd.DataFrame:
    """team_sla_daily computed in pandas: one row per (partition_date, team_name)."""
    return _reference(facts, policies, TEAM_GRAIN, calendars)


def reference_operator_sla(facts: pd.DataFrame, policies: pd.DataFrame, calendars: Calendars = NO_CALENDARS) -> pd.DataFrame:
    """operator_sla_daily computed in pandas: one row per (partition_date, team_name, operator_name)."""
    return _reference(facts, policies, OPERATOR_GRAIN, calendars)


def reference_team_channel_sla(facts: pd.DataFrame, policies: pd.DataFrame, calendars: Calendars = NO_CALENDARS) -> pd.DataFrame:
    """team_channel_sla_daily computed in pandas: one row per (partition_date, team_name, origin)."""
    return _reference(facts, policies, TEAM_CHANNEL_GRAIN, calendars)


def period_bounds(day: date, period: str) -> tuple[date, date]:
    """The local week (Monday to Sunday) or calendar month holding `day`, first and last day inclusive."""
    if period == "week":
        first = day - timedelta(days=day.weekday())
        return first, first + timedelta(days=6)
    first = day.replace(day=1)
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, following - timedelta(days=1)


def reference_period_sla(facts: pd.DataFrame, policies: pd.DataFrame, period: str, by_operator: bool,
                         calendars: Calendars = NO_CALENDARS) -> pd.DataFrame:
    """team_sla_weekly / _monthly (or operator_…): every count and percentile recomputed over the period's
    conversations, never from the daily rows."""
    frame = reference_conversation_sla(facts, policies, calendars)
    frame["period_start"] = [period_bounds(day, period)[0] for day in frame["partition_date"]]
    grain = OPERATOR_PERIOD_GRAIN if by_operator else TEAM_PERIOD_GRAIN
    rows = [
        {**dict(zip(grain, key)), "period_end": period_bounds(key[0], period)[1], **_summarise(group)}
        for key, group in frame.groupby(grain, sort=True, dropna=False)
    ]
    return _typed(rows, grain + ["period_end"] + MEASURE_COLUMNS, grain)


def normalise(frame: pd.DataFrame, grain: list[str]) -> pd.DataFrame:
    frame = frame.copy()
    date_keys = [grain[0]] + (["period_end"] if grain[0] == "period_start" else [])
    for key in date_keys:
        frame[key] = pd.to_datetime(frame[key]).dt.date
    for key in grain[1:]:
        frame[key] = frame[key].astype(object)
    for column in COUNT_COLUMNS:
        frame[column] = frame[column].astype("int64")
    for column in SECONDS_COLUMNS + RATIO_COLUMNS:
        frame[column] = pd.to_numeric(frame[column]).astype("float64")
    frame["breached"] = frame["breached"].astype(bool)
    for column in TEXT_COLUMNS:
        frame[column] = frame[column].astype(object)
    extra = ["period_end"] if grain[0] == "period_start" else []
    return frame[grain + extra + MEASURE_COLUMNS].sort_values(grain, ignore_index=True)


def assert_mart_equal(actual: pd.DataFrame, expected: pd.DataFrame, grain: list[str]) -> None:
    """Same rows; counts and booleans exact, seconds within 1e-6, ratios within 1e-12."""
    actual_keys = list(actual[grain].itertuples(index=False, name=None))
    expected_keys = list(expected[grain].itertuples(index=False, name=None))
    assert actual_keys == expected_keys, (
        f"grain differs: missing {sorted(set(expected_keys) - set(actual_keys))}, "
        f"unexpected {sorted(set(actual_keys) - set(expected_keys))}"
    )
    if "period_end" in expected:
        assert list(actual["period_end"]) == list(expected["period_end"]), "period_end differs"
    for column in COUNT_COLUMNS + BOOL_COLUMNS + TEXT_COLUMNS:
        pd.testing.assert_series_equal(actual[column], expected[column], check_exact=True, obj=column)
    for column, tolerance in [(c, 1e-6) for c in SECONDS_COLUMNS] + [(c, 1e-12) for c in RATIO_COLUMNS]:
        pd.testing.assert_series_equal(
            actual[column], expected[column], check_exact=False, rtol=0, atol=tolerance, obj=column
        )
