"""`conversation_facts`: the raw records of each day, typed, in UTC and deduplicated."""

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    DailyPartitionsDefinition,
    Definitions,
    MaterializeResult,
    MetadataValue,
    asset,
    definitions,
)

from jelou_assets.client import JelouResource
from jelou_assets.defs.ingestion.raw_conversations import RAW_SCHEMA
from jelou_assets.partitions import daily_asset_partitioning, daily_partitions, partition_days
from jelou_assets.settings import Settings
from jelou_assets.warehouse import tables
from jelou_assets.warehouse.resource import WarehouseResource

# Days read, cleaned and written over one warehouse connection: enough to spread the cost of opening and
# closing it (on DuckDB, tens of milliseconds, as much as cleaning a day), few enough that other processes
# waiting for a DuckDB file get it every second or two.
DAYS_PER_SESSION = 16


def conversation_facts_asset(partitions: DailyPartitionsDefinition, response_timezone: str) -> AssetsDefinition:
    """The asset for these partitions; `response_timezone` is the zone the API's zone-less timestamps are in."""

    @asset(
        deps=[AssetKey("raw_conversations")],
        **daily_asset_partitioning(partitions),
        kinds={"python", "pandas"},
        pool="jelou_warehouse",
    )
    def conversation_facts(
        context: AssetExecutionContext, warehouse: WarehouseResource, jelou: JelouResource
    ) -> MaterializeResult:
        """One typed row per conversation: UTC timestamps, nulls for missing values, sanity flags."""
        # Cleaning needs pandas: imported by the step that cleans, not by every process that loads the definitions.
        from jelou_assets.facts_cleaning import clean_conversations, facts_to_arrow

        pseudonym_key = jelou.user_key_secret()  # the account's: customers' ids never reach the facts
        days = partition_days(context.partition_keys)
        for first in range(0, len(days), DAYS_PER_SESSION):
            with warehouse.session() as session:
                for number, day in enumerate(days[first:first + DAYS_PER_SESSION], start=first + 1):
                    raw = session.read_partition(tables.raw_conversations, day, RAW_SCHEMA)
                    facts, summary = clean_conversations(raw, response_timezone, pseudonym_key)
                    del raw  # the day's payloads are not needed past cleaning
                    session.replace_partitions([day], {tables.conversation_facts: facts_to_arrow(facts)})
                    # Each partition gets its own day's numbers, also when one run takes a whole backfill range.
                    counts = {"rows": summary.rows, "duplicates_collapsed": summary.duplicates_collapsed,
                              "sanity_flagged": summary.flagged, "no_operator_reply": summary.no_reply,
                              "active": summary.active, "unknown_states": sum(summary.unknown_states.values())}
                    context.add_asset_metadata({key: MetadataValue.int(value) for key, value in counts.items()},
                                               partition_key=day.isoformat())
                    context.log.info(
                        f"{day} ({number}/{len(days)}): {summary.rows} facts, {summary.flagged} flagged"
                        f"{f' {summary.flags}' if summary.flags else ''}, "
                        f"{summary.duplicates_collapsed} duplicates collapsed"
                    )
        return MaterializeResult()

    return conversation_facts


@definitions
def defs() -> Definitions:
    settings = Settings.from_env()
    return Definitions(assets=[conversation_facts_asset(daily_partitions(settings), settings.response_timezone)])
