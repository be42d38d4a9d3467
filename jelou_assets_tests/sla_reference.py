"""Independent pandas implementation of the dbt SLA marts (team_sla_daily, operator_sla_daily).

Written from the column definitions in dbt_project/models/marts/docs.md, not from the
SQL, so the tests compare two implementations. Input: a `conversation_facts`-shaped
DataFrame and the `sla_policies` seed (team_name, first_reply_target_s, attainment_goal,
with a '*' default row). Output: one row per grain with the marts' columns, sorted by the
grain, float columns as float64 (NaN for SQL null), counts as int64, `breached` as bool.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

NO_TEAM = "(no team)"
NO_OPERATOR = "(no operator)"
KNOWN_STATES = ("active", "closed", "resolved", "expired")

TEAM_GRAIN = ["partition_date", "team_name"]
OPERATOR_GRAIN = ["partition_date", "team_name", "operator_name"]

COUNT_COLUMNS = [
    "conversations", "replied", "within_sla", "active", "closed", "resolved", "expired", "other_state",
]
SECONDS_COLUMNS = [
    "sla_target_s", "first_reply_p50_s", "first_reply_p90_s", "first_reply_avg_s", "first_reply_max_s",
    "duration_p50_s", "duration_p90_s",
]
RATIO_COLUMNS = ["sla_attainment", "attainment_goal", "expired_share"]
BOOL_COLUMNS = ["breached"]
MEASURE_COLUMNS = [
    "conversations", "replied", "within_sla", "sla_attainment", "attainment_goal", "breached", "sla_target_s",
    "first_reply_p50_s", "first_reply_p90_s", "first_reply_avg_s", "first_reply_max_s",
    "duration_p50_s", "duration_p90_s", "active", "closed", "resolved", "expired", "other_state", "expired_share",
]


def _quantile(values: np.ndarray, q: float) -> float:
    """Continuous quantile with linear interpolation (numpy's default); NaN when empty."""
    return float(np.quantile(values, q, method="linear")) if len(values) else float("nan")


def _policy_for(team: str, policies: pd.DataFrame) -> tuple[float, float]:
    by_team = policies.set_index("team_name")
    row = by_team.loc[team] if team in by_team.index else by_team.loc["*"]
    return float(row["first_reply_target_s"]), float(row["attainment_goal"])


def _summarise(group: pd.DataFrame, target_s: float, goal: float) -> dict:
    first_reply_s = group["first_reply_ms"].dropna().astype("float64").to_numpy() / 1000.0
    duration_s = group["duration_ms"].dropna().astype("float64").to_numpy() / 1000.0
    state = group["state"]
    conversations = len(group)
    replied = len(first_reply_s)
    within_sla = int((first_reply_s <= target_s).sum())
    attainment = within_sla / replied if replied else float("nan")
    counts = {name: int((state == name).sum()) for name in KNOWN_STATES}
    return {
        "conversations": conversations,
        "replied": replied,
        "within_sla": within_sla,
        "sla_attainment": attainment,
        "attainment_goal": goal,
        "breached": bool(replied and attainment < goal),
        "sla_target_s": target_s,
        "first_reply_p50_s": _quantile(first_reply_s, 0.5),
        "first_reply_p90_s": _quantile(first_reply_s, 0.9),
        "first_reply_avg_s": float(first_reply_s.mean()) if replied else float("nan"),
        "first_reply_max_s": float(first_reply_s.max()) if replied else float("nan"),
        "duration_p50_s": _quantile(duration_s, 0.5),
        "duration_p90_s": _quantile(duration_s, 0.9),
        **counts,
        "other_state": conversations - sum(counts.values()),
        "expired_share": counts["expired"] / conversations,
    }


def _reference(facts: pd.DataFrame, policies: pd.DataFrame, grain: list[str]) -> pd.DataFrame:
    frame = facts.copy()
    frame["partition_date"] = pd.to_datetime(frame["partition_date"]).dt.date
    frame["team_name"] = frame["team_name"].astype("object").where(frame["team_name"].notna(), NO_TEAM)
    frame["operator_name"] = frame["operator_name"].astype("object").where(frame["operator_name"].notna(), NO_OPERATOR)
    rows = []
    for key, group in frame.groupby(grain, sort=True, dropna=False):
        target_s, goal = _policy_for(key[grain.index("team_name")], policies)
        rows.append({**dict(zip(grain, key)), **_summarise(group, target_s, goal)})
    result = pd.DataFrame(rows, columns=grain + MEASURE_COLUMNS)
    for column in COUNT_COLUMNS:
        result[column] = result[column].astype("int64")
    for column in SECONDS_COLUMNS + RATIO_COLUMNS:
        result[column] = result[column].astype("float64")
    result["breached"] = result["breached"].astype(bool)
    return result.sort_values(grain, ignore_index=True)


def reference_team_sla(facts: pd.DataFrame, policies: pd.DataFrame) -> pd.DataFrame:
    """team_sla_daily computed in pandas: one row per (partition_date, team_name)."""
    return _reference(facts, policies, TEAM_GRAIN)


def reference_operator_sla(facts: pd.DataFrame, policies: pd.DataFrame) -> pd.DataFrame:
    """operator_sla_daily computed in pandas: one row per (partition_date, team_name, operator_name)."""
    return _reference(facts, policies, OPERATOR_GRAIN)


def normalise(frame: pd.DataFrame, grain: list[str]) -> pd.DataFrame:
    frame = frame.copy()
    frame["partition_date"] = pd.to_datetime(frame["partition_date"]).dt.date
    for key in grain[1:]:
        frame[key] = frame[key].astype(object)
    for column in COUNT_COLUMNS:
        frame[column] = frame[column].astype("int64")
    for column in SECONDS_COLUMNS + RATIO_COLUMNS:
        frame[column] = pd.to_numeric(frame[column]).astype("float64")
    frame["breached"] = frame["breached"].astype(bool)
    return frame[grain + MEASURE_COLUMNS].sort_values(grain, ignore_index=True)


def assert_mart_equal(actual: pd.DataFrame, expected: pd.DataFrame, grain: list[str]) -> None:
    """Same rows; counts and booleans exact, seconds within 1e-6, ratios within 1e-12."""
    actual_keys = list(actual[grain].itertuples(index=False, name=None))
    expected_keys = list(expected[grain].itertuples(index=False, name=None))
    assert actual_keys == expected_keys, (
        f"grain differs: missing {sorted(set(expected_keys) - set(actual_keys))}, "
        f"unexpected {sorted(set(actual_keys) - set(expected_keys))}"
    )
    for column in COUNT_COLUMNS + BOOL_COLUMNS:
        pd.testing.assert_series_equal(actual[column], expected[column], check_exact=True, obj=column)
    for column, tolerance in [(c, 1e-6) for c in SECONDS_COLUMNS] + [(c, 1e-12) for c in RATIO_COLUMNS]:
        pd.testing.assert_series_equal(
            actual[column], expected[column], check_exact=False, rtol=0, atol=tolerance, obj=column
        )
