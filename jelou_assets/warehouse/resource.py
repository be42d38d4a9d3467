"""`WarehouseResource`: one SQLAlchemy URL (JELOU_WAREHOUSE_URL), DuckDB file by default or PostgreSQL.

DuckDB lets one process at a time open a file for writing, so connections here are short (no pool)
and opening one waits, with backoff, while another process (a concurrent run, dbt) holds the lock.
Within one process, DuckDB connections to a file share one database whose concurrent DELETE+INSERT
transactions do not conflict (both copies survive), so writes to a file are serialized here too.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import sqlalchemy as sa
from dagster import ConfigurableResource, InitResourceContext
from pydantic import Field
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from jelou_assets.settings import SettingsError
from jelou_assets.warehouse import tables
from jelou_assets.warehouse.partition_writer import read_partition, replace_partitions

if TYPE_CHECKING:
    import pandas as pd

# One lock per DuckDB file for every resource of this process (resources are rebuilt per run and step).
_DUCKDB_WRITE_LOCKS: dict[str, threading.Lock] = {}
_DUCKDB_WRITE_LOCKS_GUARD = threading.Lock()
# Any constant shared by every process: serializes concurrent first runs creating the schema and tables.
_PG_DDL_LOCK_KEY = 0x6A656C6F  # "jelo"

URL_EXAMPLES = "duckdb:///data/warehouse.duckdb or postgresql+psycopg://user:password@127.0.0.1:5432/warehouse"


def normalize_url(url: str) -> URL:
    """Parse and check a warehouse URL; `postgresql://` and `postgres://` mean psycopg 3."""
    try:
        parsed = make_url(url.replace("postgres://", "postgresql://", 1) if url.startswith("postgres://") else url)
    except sa.exc.ArgumentError:
        # The text is not echoed: it may hold a password.
        raise SettingsError(f"JELOU_WAREHOUSE_URL is not a SQLAlchemy URL; use e.g. {URL_EXAMPLES}.") from None
    if parsed.get_backend_name() == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "duckdb":
        if not parsed.database or parsed.database == ":memory:":
            raise SettingsError(
                f"JELOU_WAREHOUSE_URL={url!r} needs a DuckDB file path (runs are separate processes); "
                "use e.g. duckdb:///data/warehouse.duckdb."
            )
        return parsed
    raise SettingsError(
        f"JELOU_WAREHOUSE_URL uses {parsed.get_backend_name()!r}, which this project does not support; "
        f"use DuckDB or PostgreSQL, e.g. {URL_EXAMPLES}."
    )


def _migrate_columns(connection: sa.Connection) -> None:
    """Columns added to a table since a warehouse was created are added, nullable, so existing rows stay
    valid; retired ones are dropped."""
    # information_schema, not SQLAlchemy's inspector: duckdb-engine's reflection queries pg_catalog tables
    # that DuckDB lacks.
    present = {(row.table_name, row.column_name) for row in connection.execute(
        sa.text("SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = :schema"),
        {"schema": tables.SCHEMA},
    )}
    for table in tables.metadata.sorted_tables:
        missing = [column for column in table.columns if (table.name, column.name) not in present]
        retired = [name for name in tables.RETIRED_COLUMNS.get(table.name, ()) if (table.name, name) in present]
        if not missing and not retired:
            continue
        required = [column.name for column in missing if not column.nullable]
        if required:
            raise RuntimeError(f"{table.fullname} lacks the required columns {required}; rebuild the table")
        # DuckDB alters no table that has an index: the indexes are set aside for the change.
        for index in table.indexes:
            connection.execute(sa.schema.DropIndex(index, if_exists=True))
        for column in missing:
            kind = column.type.compile(dialect=connection.dialect)
            connection.execute(sa.text(f'ALTER TABLE {table.fullname} ADD COLUMN "{column.name}" {kind}'))
        for name in retired:
            connection.execute(sa.text(f'ALTER TABLE {table.fullname} DROP COLUMN "{name}"'))
        for index in table.indexes:
            index.create(connection)


class WarehouseResource(ConfigurableResource):
    """The warehouse behind one SQLAlchemy URL."""

    url: str = Field(description="SQLAlchemy URL (JELOU_WAREHOUSE_URL).")
    lock_timeout_s: float = Field(default=600.0, gt=0, description="How long to wait for DuckDB's file lock.")

    def setup_for_execution(self, context: InitResourceContext) -> None:
        # Run start: a bad URL or unreachable server fails here, before any API request is sent.
        self.ensure_tables()

    @cached_property
    def parsed_url(self) -> URL:
        return normalize_url(self.url)

    @property
    def dialect(self) -> str:
        return self.parsed_url.get_backend_name()

    @property
    def display_url(self) -> str:
        return self.parsed_url.render_as_string(hide_password=True)

    @cached_property
    def engine(self) -> sa.Engine:
        if self.dialect == "duckdb":
            Path(self.parsed_url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        return sa.create_engine(self.parsed_url, poolclass=NullPool)

    @contextmanager
    def connect(self, lock_timeout_s: float | None = None) -> Iterator[sa.Connection]:
        """A short SQLAlchemy connection, waiting for DuckDB's file lock when another process holds it."""
        deadline = time.monotonic() + (self.lock_timeout_s if lock_timeout_s is None else lock_timeout_s)
        delay = 0.05
        while True:
            try:
                connection = self.engine.connect()
                break
            except sa.exc.OperationalError as error:
                if "lock" not in str(error.orig).lower() or time.monotonic() + delay > deadline:
                    raise self._unreachable(error) from None
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
        try:
            yield connection
        finally:
            connection.close()

    def _unreachable(self, error: sa.exc.OperationalError) -> RuntimeError:
        reason = (str(error.orig).splitlines() or [""])[0]
        if "lock" in reason.lower():
            # Contention, not a broken URL: say who holds the file and what removes the contention.
            return RuntimeError(
                f"the DuckDB warehouse at {self.display_url} (JELOU_WAREHOUSE_URL) stayed locked by another "
                f"process for more than lock_timeout_s={self.lock_timeout_s:g}s: {reason}. DuckDB allows one "
                "writing process per file; serialize the runs that write it with "
                "`dagster instance concurrency set jelou_warehouse 1` (and `jelou_api 1`), stop the other "
                "process, or use PostgreSQL for concurrent runs."
            )
        return RuntimeError(f"cannot open the warehouse at {self.display_url} (JELOU_WAREHOUSE_URL): {reason}")

    @contextmanager
    def _process_write_lock(self) -> Iterator[None]:
        if self.dialect != "duckdb":
            yield
            return
        path = str(Path(self.parsed_url.database).expanduser().resolve())
        with _DUCKDB_WRITE_LOCKS_GUARD:
            lock = _DUCKDB_WRITE_LOCKS.setdefault(path, threading.Lock())
        with lock:
            yield

    @contextmanager
    def write_connection(self) -> Iterator[sa.Connection]:
        """A connection for one writing transaction, serialized with this process's other writers of a file."""
        with self._process_write_lock(), self.connect() as connection:
            yield connection

    def ensure_tables(self) -> None:
        with self.write_connection() as connection:
            if self.dialect == "postgresql":
                # Two first runs at once would both find no table and both create it; one would fail.
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_DDL_LOCK_KEY})
            connection.execute(sa.schema.CreateSchema(tables.SCHEMA, if_not_exists=True))
            tables.metadata.create_all(connection)
            _migrate_columns(connection)
            connection.commit()

    def replace_partitions(self, days: Sequence[date], rows: Mapping[sa.Table, pa.Table]) -> None:
        """Atomically replace `days` of each table with the given rows (see `partition_writer`).

        Concurrent calls for the same days, from threads or processes, leave exactly one writer's rows.
        """
        with self.write_connection() as connection:
            replace_partitions(connection.connection.driver_connection, self.dialect, days, rows)

    @contextmanager
    def session(self) -> Iterator[WarehouseSession]:
        """One connection for a run of reads and partition replaces (each replace its own transaction).

        Opening and closing a DuckDB connection costs tens of milliseconds (the close checkpoints), so a
        step that works day by day shares one across several days. It holds the file for as long as it is
        open: keep a session to a bounded batch of days, so other processes get the file in between.
        """
        with self.write_connection() as connection:
            yield WarehouseSession(connection.connection.driver_connection, self.dialect)

    def read_frame(
        self, statement: sa.Executable, params: Mapping[str, Any] | None = None, lock_timeout_s: float | None = None
    ) -> pd.DataFrame:
        import pandas as pd  # here, not at import: loading the definitions (UI, daemon, every run) needs no pandas

        with self.connect(lock_timeout_s) as connection:
            return pd.read_sql(statement, connection, params=params)


class WarehouseSession:
    """What `WarehouseResource.session` hands out: partition reads and replaces over one connection."""

    def __init__(self, dbapi_connection: Any, dialect: str) -> None:
        self._connection = dbapi_connection
        self._dialect = dialect

    def read_partition(self, table: sa.Table, day: date, schema: pa.Schema) -> pa.Table:
        return read_partition(self._connection, self._dialect, table, day, schema)

    def replace_partitions(self, days: Sequence[date], rows: Mapping[sa.Table, pa.Table]) -> None:
        replace_partitions(self._connection, self._dialect, days, rows)


def rows_by_day(frame: pd.DataFrame) -> dict[date, pd.DataFrame]:
    """A query's rows split by their `partition_date` (as `date`); a day without rows is absent."""
    import pandas as pd

    if frame.empty:
        return {}
    days = pd.to_datetime(frame["partition_date"]).dt.date
    return {day: rows for day, rows in frame.groupby(days.to_numpy(), sort=True)}
