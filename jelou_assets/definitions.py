"""The code location: every asset, check, job, schedule, sensor and resource of jelou-sla, assembled here."""

from dagster import Definitions
from dagster_dbt import DbtCliResource

from jelou_assets import settings
from jelou_assets.automation.executor import step_executor
from jelou_assets.automation.jobs import jelou_sla_job
from jelou_assets.automation.schedules import daily_sla_schedule, late_arrival_refresh_schedule
from jelou_assets.automation.sensors import run_failure_alert_sensor, sla_breach_sensor
from jelou_assets.checks.facts_checks import conversation_facts_checks, conversation_facts_sanity_check
from jelou_assets.checks.freshness import freshness_checks, freshness_checks_sensor
from jelou_assets.checks.raw_checks import raw_conversations_checks
from jelou_assets.checks.sla_checks import team_sla_goal_check
from jelou_assets.ingestion.conversation_facts import conversation_facts
from jelou_assets.ingestion.raw_conversations import raw_conversations
from jelou_assets.partitions import PARTITION_TIMEZONE
from jelou_assets.privacy.raw_retention import raw_retention
from jelou_assets.resources import alert_sinks, jelou_resource, warehouse_resource
from jelou_assets.sla.dbt_assets import sla_marts
from jelou_assets.sla.dbt_project import DBT_EXECUTABLE, sla_dbt_project
from jelou_assets.sla.report import sla_report

raw_retention_job, raw_retention_schedule = raw_retention(
    settings.positive_int("JELOU_RAW_RETENTION_DAYS", minimum=0, maximum=36_500), PARTITION_TIMEZONE
)

defs = Definitions(
    assets=[raw_conversations, conversation_facts, sla_marts, sla_report],
    asset_checks=[
        raw_conversations_checks,
        conversation_facts_checks,
        conversation_facts_sanity_check,
        team_sla_goal_check,
        *freshness_checks,
    ],
    jobs=[jelou_sla_job, raw_retention_job],
    schedules=[daily_sla_schedule, late_arrival_refresh_schedule, raw_retention_schedule],
    sensors=[sla_breach_sensor, run_failure_alert_sensor, freshness_checks_sensor],
    executor=step_executor,
    resources={
        "jelou": jelou_resource(),
        "warehouse": warehouse_resource(),
        "dbt": DbtCliResource(project_dir=sla_dbt_project, dbt_executable=DBT_EXECUTABLE),
        "alerts": alert_sinks(),
    },
)
