"""The code location: every asset, job, schedule, sensor and resource of jelou-sla, assembled here."""

from dagster import AssetSelection, Definitions, define_asset_job

from jelou_assets.ingestion.conversation_facts import conversation_facts
from jelou_assets.ingestion.raw_conversations import raw_conversations
from jelou_assets.partitions import daily_partitions
from jelou_assets.resources import jelou_resource, warehouse_resource

jelou_sla_job = define_asset_job(
    "jelou_sla_job",
    selection=AssetSelection.all(),
    partitions_def=daily_partitions,
    description="Raw conversations -> facts -> SLA marts for the selected days.",
)

defs = Definitions(
    assets=[raw_conversations, conversation_facts],
    jobs=[jelou_sla_job],
    resources={"jelou": jelou_resource(), "warehouse": warehouse_resource()},
)
