"""Replaces whole partitions atomically: delete the days, bulk-insert the new rows, one transaction.

A re-run never duplicates rows and a failure leaves the previous data in place. Each engine gets its
bulk path: DuckDB scans the Arrow table natively; PostgreSQL receives it through `COPY`.

Concurrent writers of the same day must not interleave. Under PostgreSQL's READ COMMITTED, a second
DELETE that waited for the first writer's row locks skips the rows that writer deleted but cannot see
the rows it inserted, so both copies survive. Each (table, day) therefore takes a transaction-level
advisory lock before its DELETE; the DELETE that follows starts a fresh snapshot and removes the first
writer's rows. Locks are taken in one global order so two writers can never wait on each other.
DuckDB serializes writers across processes with its file lock; within a process the resource
serializes them (`WarehouseResource.replace_partitions`).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from datetime import date

import pyarrow as pa
import sqlalchemy as sa


def replace_partitions(dbapi_connection, dialect: str, days: Sequence[date], rows: Mapping[sa.Table, pa.Table]) -> None:
    """Within one transaction, for each table: delete `days`, insert `rows[table]`."""
    if dialect == "duckdb":
        _replace_duckdb(dbapi_connection, days, rows)
    elif dialect == "postgresql":
        _replace_postgres(dbapi_connection, days, rows)
    else:  # guarded at configuration time; kept for a clear failure if a new engine slips through
        raise ValueError(f"no bulk path for warehouse engine {dialect!r}")


def read_partition(dbapi_connection, dialect: str, table: sa.Table, day: date, schema: pa.Schema) -> pa.Table:
    """One day of `table` (the columns of `schema`) as an Arrow table, through the engine's bulk path:
    DuckDB hands over its result as Arrow; PostgreSQL's rows are turned into Arrow column by column."""
    columns = ", ".join(schema.names)
    if dialect == "duckdb":
        query = f"SELECT {columns} FROM {table.fullname} WHERE partition_date = ?"
        return dbapi_connection.sql(query, params=[day]).to_arrow_table().cast(schema)
    if dialect == "postgresql":
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SELECT {columns} FROM {table.fullname} WHERE partition_date = %s", [day])
            rows = cursor.fetchall()
        dbapi_connection.commit()  # a read-only transaction: ended so the next write starts afresh
        values = list(zip(*rows)) if rows else [[] for _ in schema.names]
        return pa.table([pa.array(column, field.type) for column, field in zip(values, schema)], schema=schema)
    raise ValueError(f"no bulk path for warehouse engine {dialect!r}")


def _columns(table: sa.Table, data: pa.Table) -> str:
    expected = [c.name for c in table.columns]
    if data.column_names != expected:
        raise ValueError(f"{table.fullname}: columns {data.column_names} do not match the table's {expected}")
    return ", ".join(expected)


def _replace_duckdb(connection, days: Sequence[date], rows: Mapping[sa.Table, pa.Table]) -> None:
    placeholders = ", ".join("?" for _ in days)
    connection.execute("BEGIN TRANSACTION")
    try:
        for table, data in rows.items():
            columns = _columns(table, data)
            connection.execute(f"DELETE FROM {table.fullname} WHERE partition_date IN ({placeholders})", list(days))
            if data.num_rows:
                connection.register("incoming_rows", data)
                connection.execute(f"INSERT INTO {table.fullname} ({columns}) SELECT {columns} FROM incoming_rows")
                connection.unregister("incoming_rows")
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def partition_lock_keys(tables: Sequence[sa.Table], days: Sequence[date]) -> list[tuple[int, int]]:
    """The advisory lock keys (table key, day ordinal) a replace of `days` in `tables` holds, in lock order.

    The table key is a stable 32-bit hash of the table's full name, so every process agrees on it.
    """
    keys = {(zlib.crc32(table.fullname.encode()) - 2**31, day.toordinal()) for table in tables for day in days}
    return sorted(keys)


def _replace_postgres(connection, days: Sequence[date], rows: Mapping[sa.Table, pa.Table]) -> None:
    try:
        with connection.cursor() as cursor:
            for table_key, day_key in partition_lock_keys(list(rows), days):
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [table_key, day_key])
            for table, data in rows.items():
                columns = _columns(table, data)
                cursor.execute(f"DELETE FROM {table.fullname} WHERE partition_date = ANY(%s)", [list(days)])
                if data.num_rows:
                    with cursor.copy(f"COPY {table.fullname} ({columns}) FROM STDIN") as copy:
                        for row in zip(*(column.to_pylist() for column in data.columns)):
                            copy.write_row(row)
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
