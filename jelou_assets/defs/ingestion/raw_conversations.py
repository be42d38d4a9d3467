"""`raw_conversations`: every record of each local day's window, stored losslessly, one day at a time."""


import time
from collections.abc import Iterator
from contextlib import closing
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

import pyarrow as pa
import sqlalchemy as sa
from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    Backoff,
    DailyPartitionsDefinition,
    Definitions,
    Failure,
    Jitter,
    MaterializeResult,
    MetadataValue,
    RetryPolicy,
    asset,
    definitions,
)

from jelou_assets.client import JelouAuthError, JelouClient, JelouResource, JelouValidationError, WindowResult
from jelou_assets.day_windows import api_window
from jelou_assets.partitions import daily_asset_partitioning, daily_partitions, partition_days
from jelou_assets.settings import Settings
from jelou_assets.warehouse import tables
from jelou_assets.warehouse.resource import WarehouseResource

RAW_SCHEMA = tables.arrow_schema(tables.raw_conversations)
LOADS_SCHEMA = tables.arrow_schema(tables.raw_partition_loads)


def last_learned_rate(warehouse: WarehouseResource) -> float | None:
    """The account-wide rate the latest stored load had learned, where the next client starts (None: no
    load has recorded one yet). The warehouse is what every run and process shares, so it outlives them."""
    loads = tables.raw_partition_loads
    column = loads.c.learned_requests_per_second
    latest = warehouse.read_frame(
        sa.select(column).where(column.is_not(None)).order_by(loads.c.fetched_at.desc()).limit(1)
    )
    return None if latest.empty else float(latest.iloc[0, 0])


def raw_rows(day: date, window: WindowResult, fetched_at: datetime) -> dict:
    """Arrow tables for the day's raw rows and its load record (written together, atomically)."""
    rows = window.rows
    raw = pa.table(
        {
            "partition_date": pa.repeat(pa.scalar(day, pa.date32()), rows),
            "conversation_id": window.id_column,
            "payload": window.payload_column,  # each record's JSON text exactly as received, not copied
            "fetched_at": pa.repeat(pa.scalar(fetched_at, pa.timestamp("us")), rows),
        },
        schema=RAW_SCHEMA,
    )
    load = pa.table(
        {
            "partition_date": [day],
            "window_start": [window.start.isoformat()],
            "window_end": [window.end.isoformat()],
            "api_total": [window.api_total],
            "stored_rows": [rows],
            "pages": [window.pages],
            "walks": [window.walks],
            "requests": [window.requests],
            "retries": [window.retries],
            "throttled": [window.throttled],
            "seconds": [window.seconds],
            "fetched_at": [fetched_at],
            "learned_requests_per_second": [window.learned_requests_per_second],
            "redacted_at": [None],  # a freshly written day holds the API's personal fields again
            "redacted_records": [None],
        },
        schema=LOADS_SCHEMA,
    )
    return {tables.raw_conversations: raw, tables.raw_partition_loads: load}


def ingest_days(
    client: JelouClient, warehouse: WarehouseResource, partitions: DailyPartitionsDefinition, days: list[date]
) -> Iterator[tuple[date, WindowResult, float]]:
    """Fetch and store each day in turn; yields (day, window, seconds spent storing it) once it is written.

    The next day's pages are fetched in the background while this day is written, so the API and the
    warehouse work at the same time; at most two days are held in memory. Days are written in order and a
    written day stays written whatever happens to the next one.
    """

    def fetch(day: date) -> WindowResult:
        try:
            return client.fetch_window(*api_window(partitions, day.isoformat()))
        except (JelouAuthError, JelouValidationError) as error:
            # Retrying cannot fix credentials or rejected fields: fail now, with the fix in the message.
            raise Failure(description=f"{day}: {error}", allow_retries=False) from None

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="jelou-prefetch") as prefetch:
        upcoming = prefetch.submit(fetch, days[0]) if days else None
        for number, day in enumerate(days):
            window = upcoming.result()
            upcoming = prefetch.submit(fetch, days[number + 1]) if number + 1 < len(days) else None
            began = time.monotonic()
            warehouse.replace_partitions([day], raw_rows(day, window, datetime.now(UTC).replace(tzinfo=None)))
            yield day, window, time.monotonic() - began


# A failed day is re-run after 0-60 s, then after 60-120 s: long enough for an API outage of a few minutes.
STEP_RETRY_POLICY = RetryPolicy(max_retries=2, delay=30, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS)


def raw_conversations_asset(
    partitions: DailyPartitionsDefinition, retry_policy: RetryPolicy | None = STEP_RETRY_POLICY
) -> AssetsDefinition:
    """The asset with Dagster's step retries as given (tests shorten the delays or run one attempt)."""

    @asset(
        **daily_asset_partitioning(partitions),
        retry_policy=retry_policy,
        pool="jelou_api",
        kinds={"python", "api"},
    )
    def raw_conversations(
        context: AssetExecutionContext, jelou: JelouResource, warehouse: WarehouseResource
    ) -> MaterializeResult:
        """Every conversation the Jelou API returns for each local day, as received (JSON text)."""
        days = partition_days(context.partition_keys)
        learned = last_learned_rate(warehouse)
        client = jelou.get_client(log=context.log, learned_requests_per_second=learned)
        origin = f"1/{jelou.api_pool_limit} of the learned {learned:.2f}" if learned else "nothing learned yet"
        context.log.info(
            f"request budget starts at {client.limiter.requests_per_second:.2f} requests/s "
            f"(ceiling {client.limiter.ceiling:g} per step; {origin})"
        )
        try:
            with closing(ingest_days(client, warehouse, partitions, days)) as stored_days:
                for number, (day, window, stored_s) in enumerate(stored_days, start=1):
                    # Each partition gets its own day's numbers, also when one run takes a whole backfill range,
                    # so the UI's per-partition plots show days, not runs.
                    context.add_asset_metadata(day_metadata(window), partition_key=day.isoformat())
                    context.log.info(
                        f"{day} ({number}/{len(days)}): {window.rows} conversations, {window.pages} pages, "
                        f"{window.requests} requests, {window.retries} retries, {window.throttled} throttled, "
                        f"fetched in {window.seconds:.3f}s, stored in {stored_s:.3f}s; "
                        f"learned rate {window.learned_requests_per_second:.2f} requests/s"
                    )
        finally:
            client.close()
        return MaterializeResult(metadata={"warehouse": warehouse.display_url})

    return raw_conversations



def day_metadata(window: WindowResult) -> dict[str, MetadataValue]:
    """One stored day's numbers for its partition, rounded for reading."""
    counts = {"rows": window.rows, "api_total": window.api_total, "pages": window.pages, "walks": window.walks,
              "requests": window.requests, "retries": window.retries, "throttled": window.throttled}
    return {
        **{key: MetadataValue.int(value) for key, value in counts.items()},
        "fetch_seconds": MetadataValue.float(round(window.seconds, 3)),
        "learned_requests_per_second": MetadataValue.float(round(window.learned_requests_per_second or 0.0, 3)),
    }


@definitions
def defs() -> Definitions:
    return Definitions(assets=[raw_conversations_asset(daily_partitions(Settings.from_env()))])
