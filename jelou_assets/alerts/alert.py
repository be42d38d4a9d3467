"""An alert: a stable key (for de-duplication), a one-line title, a text body and structured fields."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Alert:
    key: str
    kind: str
    title: str
    text: str
    link: str
    fields: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Alert":
        return cls(**data)


# The day's conversation counts a breach alert carries, as the mart names them.
BREACH_COUNTS = (
    "conversations", "replied", "within_sla", "met", "breached_conversations", "unanswered", "pending", "excluded"
)


def _seconds(value: Any) -> str:
    """A duration for the text; nothing replied means no first-reply percentile to show."""
    return "n/a" if value is None or math.isnan(float(value)) else f"{float(value):.0f}s"


def breach_alert(row: dict[str, Any], worst_operators: list[dict[str, Any]], ui_url: str) -> Alert:
    """A team missed its attainment goal on a day; names the numbers a lead checks first.

    Names are data from the API and stay exactly as received here (and in the webhook JSON);
    the Slack sink escapes them for mrkdwn.
    """
    day, team = str(row["partition_date"])[:10], row["team_name"]
    operators = ", ".join(f"{o['operator_name']} {o['sla_attainment']:.0%}" for o in worst_operators) or "n/a"
    ui = ui_url.rstrip("/")
    conversations_link = f"{ui}/assets/conversation_sla?partition={day}"
    title = f"SLA breach: {team} on {day}: {row['sla_attainment']:.1%} within target vs goal {row['attainment_goal']:.0%}"
    text = (
        f"{title}\n"
        f"{row['met']} met, {row['breached_conversations']} breached, {row['unanswered']} unanswered "
        f"({row['pending']} pending, {row['excluded']} excluded) of {row['conversations']} conversations.\n"
        f"p90 first reply (replied conversations) {_seconds(row['first_reply_p90_s'])} vs target {row['sla_target_s']:.0f}s.\n"
        f"Lowest operators: {operators}\n"
        f"Each conversation's status: conversation_sla, partition {day}: {conversations_link}"
    )
    return Alert(
        key=f"breach:{day}:{team}",
        kind="sla_breach",
        title=title,
        text=text,
        link=f"{ui}/assets/team_sla_daily?partition={day}",
        fields={
            "day": day,
            "team": team,
            "sla_attainment": float(row["sla_attainment"]),
            "attainment_goal": float(row["attainment_goal"]),
            "first_reply_p90_s": _float_or_none(row["first_reply_p90_s"]),
            "sla_target_s": float(row["sla_target_s"]),
            **{count: int(row[count]) for count in BREACH_COUNTS},
            "worst_operators": [o["operator_name"] for o in worst_operators],
            "conversations_link": conversations_link,
        },
    )


def _float_or_none(value: Any) -> float | None:
    return None if value is None or math.isnan(float(value)) else float(value)


def run_failure_alert(run_id: str, job_name: str, partition: str | None, error: str, ui_url: str) -> Alert:
    title = f"Run failed: {job_name} for {partition or 'no partition'}"
    return Alert(
        key=f"run_failure:{run_id}",
        kind="run_failure",
        title=title,
        text=f"{title}\n{error}",
        link=f"{ui_url.rstrip('/')}/runs/{run_id}",
        fields={"run_id": run_id, "job": job_name, "partition": partition, "error": error},
    )
