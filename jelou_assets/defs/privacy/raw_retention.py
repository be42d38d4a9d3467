"""Raw retention: personal fields redacted from raw payloads older than JELOU_RAW_RETENTION_DAYS.

`raw_conversations` keeps each record as received, so facts can be rebuilt from it; that includes the
customer's `user.id`. Past the retention, each personal field in `PERSONAL_FIELDS` is removed from the
payload and `user.id` is replaced by its pseudonym (`user.pseudonym`), so facts rebuilt from a redacted
day are identical and hold the same `user_key`. Everything else in the payload stays.

A day is redacted in one transaction, under the same per-day lock as the partition writer: a backfill
that re-fetches the day at the same moment either lands before (and is redacted) or after (and the next
run redacts it). Its load record says when and how many records were redacted; running again redacts
nothing new.
"""


import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pyarrow as pa
import sqlalchemy as sa
from dagster import (
    Config,
    Definitions,
    JobDefinition,
    OpExecutionContext,
    ScheduleDefinition,
    definitions,
    job,
    op,
)
from pydantic import Field

from jelou_assets.client import JelouResource
from jelou_assets.defs.automation.status import TOGGLE_NOTE, schedule_status
from jelou_assets.privacy.pseudonyms import PSEUDONYM_FIELD, user_keys
from jelou_assets.settings import Settings
from jelou_assets.warehouse import tables
from jelou_assets.warehouse.partition_writer import partition_lock_keys
from jelou_assets.warehouse.resource import WarehouseResource

# The record's fields that identify a person: (object, field). Only the customer's id is personal in the
# documented record; operators' names are the SLA tables' subject and stay.
PERSONAL_FIELDS: tuple[tuple[str, str], ...] = (("user", "id"),)


def redact_payload(text: str, key: str) -> str | None:
    """`text` without its personal fields, `user.id` replaced by its pseudonym; None when nothing is there."""
    try:
        record = json.loads(text)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    changed = False
    for parent, field in PERSONAL_FIELDS:
        holder = record.get(parent)
        if isinstance(holder, dict) and field in holder:
            value = holder.pop(field)
            changed = True
            if (parent, field) == ("user", "id"):
                from jelou_assets.facts_cleaning import leaf_text  # needs pandas: only when a payload is redacted

                pseudonym = user_keys([leaf_text(value)], key)[0]
                if pseudonym is not None:
                    holder[PSEUDONYM_FIELD] = pseudonym
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")) if changed else None


def days_to_redact(warehouse: WarehouseResource, cutoff: date) -> list[date]:
    """Stored days before `cutoff` whose payloads have not been redacted since they were last written."""
    loads = tables.raw_partition_loads
    statement = (
        sa.select(loads.c.partition_date)
        .where(loads.c.partition_date < cutoff, loads.c.redacted_at.is_(None))
        .order_by(loads.c.partition_date)
    )
    return [value.date() if isinstance(value, datetime) else value
            for value in warehouse.read_frame(statement)["partition_date"]]


def redact_day(warehouse: WarehouseResource, day: date, key: str) -> int:
    """Redacts one stored day in one transaction; returns how many payloads changed."""
    raw, loads = tables.raw_conversations, tables.raw_partition_loads
    with warehouse.write_connection() as connection:
        if warehouse.dialect == "postgresql":
            for table_key, day_key in partition_lock_keys([raw, loads], [day]):
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(:t, :d)"), {"t": table_key, "d": day_key})
        rows = connection.execute(
            sa.select(raw.c.conversation_id, raw.c.payload).where(raw.c.partition_date == day)
        ).all()
        redacted = [(cid, text) for cid, text in ((cid, redact_payload(p, key)) for cid, p in rows) if text is not None]
        if redacted:
            _update_payloads(connection, warehouse.dialect, day, redacted)
        connection.execute(
            loads.update()
            .where(loads.c.partition_date == day)
            .values(redacted_at=datetime.now(UTC).replace(tzinfo=None), redacted_records=len(redacted))
        )
        connection.commit()
    return len(redacted)


def _update_payloads(connection: sa.Connection, dialect: str, day: date, redacted: list[tuple[str, str]]) -> None:
    """One bulk UPDATE ... FROM the new payloads (DuckDB scans them as Arrow; PostgreSQL gets them by COPY)."""
    ids, payloads = zip(*redacted)
    update = (
        f"UPDATE {tables.raw_conversations.fullname} AS raw SET payload = new.payload FROM {{new}} AS new "
        "WHERE raw.partition_date = {day} AND raw.conversation_id = new.conversation_id"
    )
    driver = connection.connection.driver_connection
    if dialect == "duckdb":
        driver.register("redacted_payloads", pa.table({"conversation_id": ids, "payload": payloads}))
        driver.execute(update.format(new="redacted_payloads", day="?"), [day])
        driver.unregister("redacted_payloads")
        return
    with driver.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE redacted_payloads (conversation_id text, payload text) ON COMMIT DROP")
        with cursor.copy("COPY redacted_payloads (conversation_id, payload) FROM STDIN") as copy:
            for row in redacted:
                copy.write_row(row)
        cursor.execute(update.format(new="redacted_payloads", day="%s"), [day])


class RawRetentionConfig(Config):
    retention_days: int = Field(ge=0, description="JELOU_RAW_RETENTION_DAYS: redact days older than this; 0 = off.")
    timezone: str = Field(description="JELOU_TIMEZONE: the partitions' zone, which says what 'today' is.")


@op(description="Redacts personal fields from raw payloads of days older than the retention, one day at a time.")
def redact_old_raw_payloads(
    context: OpExecutionContext, config: RawRetentionConfig, warehouse: WarehouseResource, jelou: JelouResource
) -> None:
    if config.retention_days == 0:
        context.log.info("JELOU_RAW_RETENTION_DAYS=0: raw retention is off, nothing redacted")
        return
    today = datetime.now(ZoneInfo(config.timezone)).date()
    cutoff = today - timedelta(days=config.retention_days)
    days = days_to_redact(warehouse, cutoff)
    context.log.info(f"{len(days)} stored days before {cutoff} to redact")
    for number, day in enumerate(days, start=1):
        changed = redact_day(warehouse, day, jelou.user_key_secret())
        context.log.info(f"{day} ({number}/{len(days)}): {changed} payloads redacted")


def raw_retention(settings: Settings, hour: int = 3) -> tuple[JobDefinition, ScheduleDefinition]:
    """The retention job and its daily schedule, configured with JELOU_RAW_RETENTION_DAYS and the partitions' zone."""
    retention_days, timezone = settings.raw_retention_days, settings.timezone
    config = {"ops": {"redact_old_raw_payloads": {"config": {"retention_days": retention_days, "timezone": timezone}}}}

    @job(name="raw_retention_job", config=config, description=__doc__.splitlines()[0])
    def raw_retention_job() -> None:
        redact_old_raw_payloads()

    schedule = ScheduleDefinition(
        name="raw_retention_schedule",
        job=raw_retention_job,
        cron_schedule=f"30 {hour} * * *",
        execution_timezone=timezone,
        default_status=schedule_status(settings),
        description=(
            f"Every day at {hour:02d}:30 {timezone}: redacts customers' ids from raw payloads older than "
            f"{retention_days} days (JELOU_RAW_RETENTION_DAYS; 0 turns it off)." + TOGGLE_NOTE
        ),
    )
    return raw_retention_job, schedule


@definitions
def defs() -> Definitions:
    retention_job, retention_schedule = raw_retention(Settings.from_env())
    return Definitions(jobs=[retention_job], schedules=[retention_schedule])
