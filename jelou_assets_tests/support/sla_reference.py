"""Independent pandas implementation of the dbt SLA models: `conversation_sla` and the marts aggregating it.

Written from the definition in docs/SLA.md and the column definitions in
dbt_project/models/marts/docs.md, not from the SQL, so the tests compare two implementations.
Input: a `conversation_facts`-shaped DataFrame (at least partition_date, team_name, operator_name,
origin, state, started_at, ended_at, fetched_at, first_reply_ms, duration_ms) and the
`sla_policies` seed (team_name, first_reply_target_s, attainment_goal, with a '*' default row).
Output: one row per grain with the marts' columns, sorted by the grain, float columns as
float64 (NaN for SQL null), counts as int64, `breached` as bool.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

NO_TEAM = "(no team)"
NO_OPERATOR = "(no operator)"
NO_ORIGIN = "(no origin)"
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
    "sla_target_s", "first_reply_p50_s", "first_reply_p90_s", "first_reply_avg_s", "first_reply_max_s",
    "duration_p50_s", "duration_p90_s",
]
RATIO_COLUMNS = ["sla_attainment", "attainment_goal", "expired_share", "reply_rate"]
BOOL_COLUMNS = ["breached"]
MEASURE_COLUMNS = [
    "conversations", "replied", "within_sla", "sla_attainment", "attainment_goal", "breached", "sla_target_s",
    "first_reply_p50_s", "first_reply_p90_s", "first_reply_avg_s", "first_reply_max_s",
    "duration_p50_s", "duration_p90_s", "active", "closed", "resolved", "expired", "other_state", "expired_share",
    "met", "breached_conversations", "unanswered", "pending", "excluded", "reply_rate",
]


def _quantile(values: np.ndarray, q: float) -> float:
    """Continuous quantile with linear interpolation (numpy's default); NaN when empty."""
    return float(np.quantile(values, q, method="linear")) if len(values) else float("nan")


def _policy_for(team: str, policies: pd.DataFrame) -> tuple[float, float]:
    by_team = policies.set_index("team_name")
    row = by_team.loc[team] if team in by_team.index else by_team.loc["*"]
    return float(row["first_reply_target_s"]), float(row["attainment_goal"])


def sla_status(first_reply_s: float, elapsed_s: float, ended: bool, target_s: float) -> str:
    """The written rule, one conversation at a time (NaN = SQL null)."""
    if not np.isnan(first_reply_s):
        return "met" if first_reply_s <= target_s else "breached"
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


def reference_conversation_sla(facts: pd.DataFrame, policies: pd.DataFrame) -> pd.DataFrame:
    """conversation_sla computed in pandas: the facts plus sla_target_s, attainment_goal, first_reply_s,
    elapsed_s, duration_s and sla_status."""
    frame = _prepared(facts)
    started = pd.to_datetime(frame["started_at"])
    ended = pd.to_datetime(frame["ended_at"])
    fetched = pd.to_datetime(frame["fetched_at"])
    frame["elapsed_s"] = (ended.fillna(fetched) - started).dt.total_seconds().astype("float64")
    frame["first_reply_s"] = pd.to_numeric(frame["first_reply_ms"]).astype("float64") / 1000.0
    frame["duration_s"] = pd.to_numeric(frame["duration_ms"]).astype("float64") / 1000.0
    policy = [_policy_for(team, policies) for team in frame["team_name"]]
    frame["sla_target_s"] = [target for target, _ in policy]
    frame["attainment_goal"] = [goal for _, goal in policy]
    frame["sla_status"] = [
        sla_status(reply, elapsed, has_end, target)
        for reply, elapsed, has_end, target in zip(
            frame["first_reply_s"].fillna(np.nan), frame["elapsed_s"].fillna(np.nan), ended.notna(), frame["sla_target_s"]
        )
    ]
    return frame


def _summarise(group: pd.DataFrame) -> dict:
    first_reply_s = group["first_reply_s"].dropna().to_numpy(dtype="float64")
    duration_s = group["duration_s"].dropna().to_numpy(dtype="float64")
    state, status = group["state"], group["sla_status"]
    conversations, replied = len(group), len(first_reply_s)
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
        "first_reply_p50_s": _quantile(first_reply_s, 0.5),
        "first_reply_p90_s": _quantile(first_reply_s, 0.9),
        "first_reply_avg_s": float(first_reply_s.mean()) if replied else float("nan"),
        "first_reply_max_s": float(first_reply_s.max()) if replied else float("nan"),
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
    return result.sort_values(grain, ignore_index=True)


def _reference(facts: pd.DataFrame, policies: pd.DataFrame, grain: list[str]) -> pd.DataFrame:
    frame = reference_conversation_sla(facts, policies)
    rows = [{**dict(zip(grain, key)), **_summarise(group)} for key, group in frame.groupby(grain, sort=True, dropna=False)]
    return _typed(rows, grain + MEASURE_COLUMNS, grain)


def reference_team_sla(facts: pd.DataFrame, policies: pd.DataFrame) -> pd.DataFrame:
    """team_sla_daily computed in pandas: one row per (partition_date, team_name)."""
    return _reference(facts, policies, TEAM_GRAIN)


def reference_operator_sla(facts: pd.DataFrame, policies: pd.DataFrame) -> pd.DataFrame:
    """operator_sla_daily computed in pandas: one row per (partition_date, team_name, operator_name)."""
    return _reference(facts, policies, OPERATOR_GRAIN)


def reference_team_channel_sla(facts: pd.DataFrame, policies: pd.DataFrame) -> pd.DataFrame:
    """team_channel_sla_daily computed in pandas: one row per (partition_date, team_name, origin)."""
    return _reference(facts, policies, TEAM_CHANNEL_GRAIN)


def period_bounds(day: date, period: str) -> tuple[date, date]:
    """The local week (Monday to Sunday) or calendar month holding `day`, first and last day inclusive."""
    if period == "week":
        first = day - timedelta(days=day.weekday())
        return first, first + timedelta(days=6)
    first = day.replace(day=1)
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, following - timedelta(days=1)


def reference_period_sla(facts: pd.DataFrame, policies: pd.DataFrame, period: str, by_operator: bool) -> pd.DataFrame:
    """team_sla_weekly / _monthly (or operator_…): every count and percentile recomputed over the period's
    conversations, never from the daily rows."""
    frame = reference_conversation_sla(facts, policies)
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
    for column in COUNT_COLUMNS + BOOL_COLUMNS:
        pd.testing.assert_series_equal(actual[column], expected[column], check_exact=True, obj=column)
    for column, tolerance in [(c, 1e-6) for c in SECONDS_COLUMNS] + [(c, 1e-12) for c in RATIO_COLUMNS]:
        pd.testing.assert_series_equal(
            actual[column], expected[column], check_exact=False, rtol=0, atol=tolerance, obj=column
        )
