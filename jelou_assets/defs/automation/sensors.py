"""SLA-breach and run-failure alerts. Both remember, in their cursor, what they alerted and what a sink
refused, so alerts survive daemon restarts, are never repeated and never lost."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from dagster import (
    AssetKey,
    AssetRecordsFilter,
    DagsterEventType,
    Definitions,
    RunStatusChangeRecordsFilter,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    definitions,
    sensor,
)

from jelou_assets.alerts.alert import Alert, breach_alert, run_failure_alert
from jelou_assets.alerts.outbox import SensorState, deliver
from jelou_assets.alerts.sinks import AlertSinks
from jelou_assets.defs.automation.status import TOGGLE_NOTE, sensor_status
from jelou_assets.settings import Settings
from jelou_assets.warehouse.resource import WarehouseResource

MARTS = (AssetKey("team_sla_daily"), AssetKey("operator_sla_daily"))
BATCH = 1000
# A sensor tick must stay short: if a run holds DuckDB's lock, try again next tick.
WAREHOUSE_WAIT_S = 20.0

BREACHED_TEAMS = (
    "FROM jelou.team_sla_daily WHERE partition_date = :day AND breached AND conversations >= :min_conversations"
)
BREACHES = sa.text(
    "SELECT partition_date, team_name, conversations, replied, within_sla, sla_attainment, attainment_goal, "
    "first_reply_p90_s, sla_target_s, met, breached_conversations, unanswered, pending, excluded "
    f"{BREACHED_TEAMS} ORDER BY team_name"
)
BREACH_COUNT = sa.text(f"SELECT count(*) AS n {BREACHED_TEAMS}")
WORST_OPERATORS = sa.text(
    "SELECT operator_name, sla_attainment FROM jelou.operator_sla_daily "
    "WHERE partition_date = :day AND team_name = :team AND sla_attainment IS NOT NULL "
    "ORDER BY sla_attainment, operator_name LIMIT 3"
)


def local_today(timezone: str) -> date:
    return datetime.now(ZoneInfo(timezone)).date()


def _initial_state(context: SensorEvaluationContext) -> SensorState:
    # Like Dagster's own run-status sensors: start from now, so enabling a sensor does not replay history.
    return SensorState(after_storage_id=context.instance.event_log_storage.get_maximum_record_id() or 0)


def _breach_alerts(
    warehouse: WarehouseResource, days: list[str], state: SensorState, settings: Settings
) -> list[Alert]:
    alerts = []
    for day in days:
        breaches = warehouse.read_frame(
            BREACHES, {"day": day, "min_conversations": settings.alert_min_conversations},
            lock_timeout_s=WAREHOUSE_WAIT_S,
        )
        for row in breaches.to_dict("records"):
            worst = warehouse.read_frame(
                WORST_OPERATORS, {"day": day, "team": row["team_name"]}, lock_timeout_s=WAREHOUSE_WAIT_S
            )
            alert = breach_alert(row, worst.to_dict("records"), settings.dagster_ui_url)
            fingerprint = f"{row['sla_attainment']:.9f}|{row['first_reply_p90_s']}|{row['conversations']}|{row['breached_conversations']}"
            if state.alerted.get(alert.key) != fingerprint:  # new breach, or its numbers changed
                state.alerted[alert.key] = fingerprint
                alerts.append(alert)
    return alerts


def _breach_count(warehouse: WarehouseResource, days: list[str], min_conversations: int) -> int:
    counts = (
        warehouse.read_frame(BREACH_COUNT, {"day": d, "min_conversations": min_conversations}, lock_timeout_s=WAREHOUSE_WAIT_S)
        for d in days
    )
    return sum(int(count["n"].iloc[0]) for count in counts)


def sla_breach_sensor(settings: Settings) -> SensorDefinition:
    """The breach sensor. It alerts only on team-days at most JELOU_ALERT_MAX_AGE_DAYS before today (in the
    partitions' zone), so a backfill of old days pages no one; its tick result says how many older breaches
    it skipped."""
    max_age_days = settings.alert_max_age_days

    @sensor(
        name="sla_breach_sensor",
        minimum_interval_seconds=60,
        default_status=sensor_status(settings),
        description=f"Alerts once per (team, day) whose SLA attainment fell under its goal, for teams with at least "
        f"{settings.alert_min_conversations} conversations on days at most {max_age_days} days old (JELOU_ALERT_MAX_AGE_DAYS); "
        "again only if that day's numbers change." + TOGGLE_NOTE,
    )
    def sla_breach_sensor(context: SensorEvaluationContext, warehouse: WarehouseResource, alerts: AlertSinks) -> SkipReason:
        state = SensorState.from_cursor(context.cursor)
        if state is None:
            context.update_cursor(_initial_state(context).to_cursor())
            return SkipReason("initialized: alerting on mart materializations from now on")
        days, newest = set(), state.after_storage_id
        for mart in MARTS:
            records = context.instance.fetch_materializations(
                AssetRecordsFilter(asset_key=mart, after_storage_id=state.after_storage_id), limit=BATCH, ascending=True
            ).records
            days.update(r.partition_key for r in records if r.partition_key)
            newest = max([newest or 0, *(r.storage_id for r in records)])
        today = local_today(settings.timezone)
        recent = sorted(day for day in days if (today - date.fromisoformat(day)).days <= max_age_days)
        older = sorted(days - set(recent))
        try:
            new_alerts = _breach_alerts(warehouse, recent, state, settings)
            skipped = _breach_count(warehouse, older, settings.alert_min_conversations)
        except Exception as error:  # warehouse busy or down: nothing consumed, the next tick tries again
            return SkipReason(f"warehouse not readable now ({type(error).__name__}); will retry")
        if skipped:
            context.log.info(f"not alerting {skipped} breaches on {len(older)} days older than {max_age_days} days")
        state.pending = deliver(alerts, new_alerts, state.pending, context.log)
        state.after_storage_id = newest
        context.update_cursor(state.to_cursor())
        return SkipReason(
            f"{len(recent)} recent days checked, {len(new_alerts)} new breach alerts, {len(state.pending)} awaiting "
            f"redelivery; {skipped} breaches skipped on {len(older)} days older than {max_age_days} days"
        )

    return sla_breach_sensor


def _first_error_line(context: SensorEvaluationContext, run_id: str) -> str:
    for entry in context.instance.all_logs(run_id, of_type=DagsterEventType.STEP_FAILURE):
        data = entry.dagster_event.step_failure_data
        if data and data.error:
            return f"{entry.step_key}: {(data.error.message.strip().splitlines() or [''])[0][:300]}"
    for entry in context.instance.all_logs(run_id, of_type=DagsterEventType.RUN_FAILURE):
        return (entry.message.strip().splitlines() or [""])[0][:300]
    return "no error recorded"


def _partition_label(tags: dict[str, str]) -> str | None:
    if "dagster/partition" in tags:
        return tags["dagster/partition"]
    start, end = tags.get("dagster/asset_partition_range_start"), tags.get("dagster/asset_partition_range_end")
    return f"{start}...{end}" if start else None


def run_failure_alert_sensor(settings: Settings) -> SensorDefinition:
    """The run-failure sensor; its alerts link to JELOU_DAGSTER_UI_URL."""

    @sensor(
        name="run_failure_alert_sensor",
        minimum_interval_seconds=60,
        default_status=sensor_status(settings),
        description="Alerts on failed runs of this code location's jobs: which days failed and the error's first line."
        + TOGGLE_NOTE,
    )
    def run_failure_alert_sensor(context: SensorEvaluationContext, alerts: AlertSinks) -> SkipReason:
        state = SensorState.from_cursor(context.cursor)
        if state is None:
            context.update_cursor(_initial_state(context).to_cursor())
            return SkipReason("initialized: alerting on run failures from now on")
        records = context.instance.fetch_run_status_changes(
            RunStatusChangeRecordsFilter(event_type=DagsterEventType.RUN_FAILURE, after_storage_id=state.after_storage_id),
            limit=BATCH,
            ascending=True,
        ).records
        our_jobs = set(context.repository_def.job_names) if context.repository_def else None
        new_alerts = []
        for record in records:
            run = context.instance.get_run_by_id(record.run_id)
            if run is None or (our_jobs is not None and run.job_name not in our_jobs):
                continue
            new_alerts.append(
                run_failure_alert(run.run_id, run.job_name, _partition_label(run.tags), _first_error_line(context, run.run_id), settings.dagster_ui_url)
            )
        state.pending = deliver(alerts, new_alerts, state.pending, context.log)
        state.after_storage_id = max([state.after_storage_id or 0, *(r.storage_id for r in records)])
        context.update_cursor(state.to_cursor())
        return SkipReason(f"{len(new_alerts)} run failure alerts, {len(state.pending)} awaiting redelivery")


    return run_failure_alert_sensor


@definitions
def defs() -> Definitions:
    settings = Settings.from_env()
    return Definitions(sensors=[sla_breach_sensor(settings), run_failure_alert_sensor(settings)])
