"""The one job the schedules run: every asset and data-quality check for the selected days."""

from dagster import AssetSelection, define_asset_job

from jelou_assets.checks.freshness import freshness_checks

jelou_sla_job = define_asset_job(
    "jelou_sla_job",
    # Freshness checks are evaluated by their own sensor against the clock, not inside materialization runs.
    selection=AssetSelection.all() - AssetSelection.checks(*freshness_checks),
    description="Raw conversations -> facts -> SLA marts, with their checks, for the selected days.",
)
