"""The one job the schedules run: every asset and data-quality check for the selected days."""

from dagster import AssetCheckKey, AssetKey, AssetSelection, Definitions, define_asset_job, definitions

# The assets whose yesterday must exist by the deadline hour (freshness.py).
FRESH_BY_DEADLINE = ("raw_conversations", "conversation_facts", "team_sla_daily", "operator_sla_daily")
FRESHNESS_CHECK_KEYS = [AssetCheckKey(AssetKey(name), "freshness_check") for name in FRESH_BY_DEADLINE]

jelou_sla_job = define_asset_job(
    "jelou_sla_job",
    # Freshness checks are evaluated by their own sensor against the clock, not inside materialization runs.
    selection=AssetSelection.all() - AssetSelection.checks(*FRESHNESS_CHECK_KEYS),
    description="Raw conversations -> facts -> SLA marts, with their checks, for the selected days.",
)


@definitions
def defs() -> Definitions:
    return Definitions(jobs=[jelou_sla_job])
