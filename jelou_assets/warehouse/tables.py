"""The warehouse tables the Python assets own, all in schema `jelou` (dbt owns the marts)."""

from __future__ import annotations

import pyarrow as pa
import sqlalchemy as sa

SCHEMA = "jelou"
metadata = sa.MetaData(schema=SCHEMA)

raw_conversations = sa.Table(
    "raw_conversations",
    metadata,
    sa.Column("partition_date", sa.Date, nullable=False, comment="local day (JELOU_TIMEZONE) of the API window"),
    sa.Column("conversation_id", sa.String, nullable=False, comment="the record's _id"),
    sa.Column("payload", sa.String, nullable=False, comment="the record's JSON as received"),
    sa.Column("fetched_at", sa.DateTime, nullable=False, comment="UTC time the window was read"),
    sa.Index("raw_conversations_partition_date", "partition_date"),
)

# What the API said of the day and what its walk cost, as the client counted them.
LOAD_COUNTS = ("api_total", "stored_rows", "pages", "walks", "requests", "retries", "throttled")

# One row per stored partition, written in the same transaction as its raw rows, so checks compare
# what was stored with what the API said about the very same walk.
raw_partition_loads = sa.Table(
    "raw_partition_loads",
    metadata,
    sa.Column("partition_date", sa.Date, nullable=False),
    sa.Column("window_start", sa.String, nullable=False),
    sa.Column("window_end", sa.String, nullable=False),
    *(sa.Column(name, sa.Integer, nullable=False) for name in LOAD_COUNTS),
    sa.Column("seconds", sa.Float, nullable=False),
    sa.Column("fetched_at", sa.DateTime, nullable=False),
    sa.Column(
        "learned_requests_per_second", sa.Float,
        comment="the account's rate as the client's budget had learned it after this day's walk; the next run starts there",
    ),
    sa.Column("redacted_at", sa.DateTime, comment="UTC time raw retention removed this day's personal fields; null: not yet"),
    sa.Column("redacted_records", sa.Integer, comment="payloads raw retention changed that time"),
)

# Columns earlier versions created and no table may keep: dropped from existing warehouses at run start.
# `user_id` held customers' identifiers in clear; `user_key` replaced it.
RETIRED_COLUMNS: dict[str, tuple[str, ...]] = {"conversation_facts": ("user_id",)}

conversation_facts = sa.Table(
    "conversation_facts",
    metadata,
    sa.Column("conversation_id", sa.String, nullable=False),
    sa.Column("partition_date", sa.Date, nullable=False),
    sa.Column("started_at", sa.DateTime, comment="UTC"),
    sa.Column("ended_at", sa.DateTime, comment="UTC; null while active"),
    sa.Column("state", sa.String),
    sa.Column("ended_reason", sa.String),
    sa.Column("origin", sa.String),
    sa.Column("operator_name", sa.String),
    sa.Column("team_name", sa.String),
    sa.Column("team_source", sa.String, comment="where team_name was read: assignationMethod.teamName or operator.team"),
    sa.Column("bot_name", sa.String),
    sa.Column("company_id", sa.String),
    sa.Column("user_key", sa.String, comment="keyed pseudonym (HMAC-SHA256) of the customer's user.id"),
    sa.Column("first_reply_ms", sa.BigInteger, comment="null: the operator never replied"),
    sa.Column("duration_ms", sa.BigInteger, comment="null while active"),
    sa.Column("sanity_flag", sa.String, comment="why the record contradicts itself; null when it does not"),
    sa.Column("fetched_at", sa.DateTime, nullable=False),
    sa.Index("conversation_facts_partition_date", "partition_date"),
)


# The Arrow type each column's values are written with (bulk paths: DuckDB's Arrow scan, PostgreSQL's COPY).
ARROW_TYPES: dict[type, pa.DataType] = {
    sa.Date: pa.date32(),
    sa.String: pa.string(),
    sa.Integer: pa.int32(),
    sa.BigInteger: pa.int64(),
    sa.Float: pa.float64(),
    sa.DateTime: pa.timestamp("us"),
}


def arrow_schema(table: sa.Table) -> pa.Schema:
    """The Arrow schema of `table`'s rows, in its column order, so the column list is written once."""
    return pa.schema([(column.name, ARROW_TYPES[type(column.type)]) for column in table.columns])
