"""The code location: every asset, job, schedule, sensor and resource of jelou-sla, assembled here."""

from dagster import AssetSelection, Definitions, define_asset_job
from dagster_dbt import DbtCliResource

from jelou_assets.ingestion.conversation_facts import conversation_facts
from jelou_assets.ingestion.raw_conversations import raw_conversations
from jelou_assets.partitions import daily_partitions
from jelou_assets.resources import jelou_resource, warehouse_resource
from jelou_assets.sla.dbt_assets import sla_marts
from jelou_assets.sla.dbt_project import DBT_EXECUTABLE, sla_dbt_project

jelou_sla_job = define_asset_job(
    "jelou_sla_job",
    selection=AssetSelection.all(),
    partitions_def=daily_partitions,
    description="Raw conversations -> facts -> SLA marts for the selected days.",
)

defs = Definitions(
    assets=[raw_conversations, conversation_facts, sla_marts],
    jobs=[jelou_sla_job],
    resources={
        "jelou": jelou_resource(),
        "warehouse": warehouse_resource(),
        "dbt": DbtCliResource(project_dir=sla_dbt_project, dbt_executable=DBT_EXECUTABLE),
    },
)
