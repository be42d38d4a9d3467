"""The SLA models (dbt) as Dagster assets: daily partitions, the partition window as `min_date`/`max_date`
(environment variables JELOU_SLA_MIN_DATE/JELOU_SLA_MAX_DATE, see `dbt_project.WINDOW_ENV`).

The weekly and monthly rollups share the daily partitions: a run of some days rebuilds the weeks and
months holding them (the dbt window widens to whole periods), so the daily schedule completes each
period with its last day and the late-arrival refresh keeps every period it touches current. A weekly-
or monthly-partitioned asset would leave no partitions definition shared by all assets, and
`dagster asset materialize --select '*' --partition <day>` would fail.
"""

from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    Backoff,
    DailyPartitionsDefinition,
    Definitions,
    Output,
    RetryPolicy,
    definitions,
)
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from jelou_assets.partitions import daily_asset_partitioning, daily_partitions
from jelou_assets.settings import Settings
from jelou_assets.sla.dbt_project import dbt_warehouse_env, ensure_manifest, retire_target_dir, sla_dbt_project
from jelou_assets.sla.mart_metadata import mart_day_metadata
from jelou_assets.warehouse.resource import WarehouseResource

MARTS = ("team_sla_daily", "operator_sla_daily")
# dbt's unit tests check the models' SQL against fixed inputs, not the data: they belong in CI and
# development (`dbt build` by hand, the test suite), not in every partition's run.
BUILD_ARGS = ("--exclude-resource-type", "unit_test")


class SlaDbtTranslator(DagsterDbtTranslator):
    """Source `jelou.conversation_facts` is our Python asset `conversation_facts`: one lineage graph."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        return AssetKey(dbt_resource_props["name"])


def build_window(context: AssetExecutionContext) -> dict[str, str]:
    """The run's local days, first and last inclusive: one day or a whole backfill range alike."""
    window = context.partition_time_window
    return {"min_date": window.start.date().isoformat(), "max_date": (window.end - timedelta(days=1)).date().isoformat()}


def sla_marts_assets(partitions: DailyPartitionsDefinition) -> AssetsDefinition:
    """Every dbt model of the project, partitioned like the facts; the manifest is parsed first on a fresh clone."""
    ensure_manifest()

    @dbt_assets(
        manifest=sla_dbt_project.manifest_path,
        project=sla_dbt_project,
        **daily_asset_partitioning(partitions),
        # The source's tests check conversation_facts: they show as its checks (run by dbt in this step).
        dagster_dbt_translator=SlaDbtTranslator(
            settings=DagsterDbtTranslatorSettings(enable_asset_checks=True, enable_source_tests_as_checks=True)
        ),
        # dbt opens the DuckDB file for its whole invocation; a concurrent writer makes it fail to lock: retry.
        retry_policy=RetryPolicy(max_retries=3, delay=10, backoff=Backoff.EXPONENTIAL),
        pool="jelou_warehouse",
    )
    def sla_marts(context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource) -> Iterator[Any]:
        window = build_window(context)
        context.log.info(f"dbt build for {window['min_date']}..{window['max_date']} on {warehouse.display_url}")
        with dbt_warehouse_env(warehouse.url, window):
            invocation = dbt.cli(["build", *BUILD_ARGS], context=context)
            events = list(invocation.stream())
        # A failed build keeps its directory (dbt.log, run_results.json) for reading; a good one leaves only its parse.
        retire_target_dir(invocation.target_path)
        # dbt holds the DuckDB file until it exits, so the marts are read for metadata only afterwards.
        for event in events:
            if isinstance(event, Output) and event.output_name in MARTS:
                for day, metadata in mart_day_metadata(warehouse, event.output_name, window).items():
                    context.add_asset_metadata(metadata, asset_key=AssetKey(event.output_name), partition_key=day)
            yield event

    return sla_marts


@definitions
def defs() -> Definitions:
    return Definitions(assets=[sla_marts_assets(daily_partitions(Settings.from_env()))])
