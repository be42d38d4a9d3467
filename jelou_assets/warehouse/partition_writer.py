"""Replaces whole partitions atomically: delete the days, bulk-insert the new rows, one transaction.

A re-run never duplicates rows and a failure leaves the previous data in place. Each engine gets its
bulk path: DuckDB scans the Arrow table natively; PostgreSQL receives it through `COPY`.
"""

from __future__ import annotations

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


def _replace_postgres(connection, days: Sequence[date], rows: Mapping[sa.Table, pa.Table]) -> None:
    try:
        with connection.cursor() as cursor:
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
