"""The PostgreSQL server the tests use (JELOU_TEST_POSTGRES_URL): databases of their own on it, and a clean schema."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

POSTGRES_URL = os.environ.get("JELOU_TEST_POSTGRES_URL")


@contextmanager
def private_database(prefix: str) -> Iterator[str]:
    """A brand-new database on the test server, dropped afterwards: other tests reset schema `jelou` of the
    shared one at any time, so a fixture that keeps tables between tests needs a database of its own.
    Skips the test when no server is configured."""
    if not POSTGRES_URL:
        pytest.skip("JELOU_TEST_POSTGRES_URL is not set")
    server = sa.make_url(POSTGRES_URL).set(drivername="postgresql+psycopg")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def reset_schema(url: str) -> None:
    """Drop schema `jelou` and everything in it, as a first run would find the database."""
    engine = sa.create_engine(url, poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP SCHEMA IF EXISTS jelou CASCADE"))
    engine.dispose()


def engines_grouped(setup: str) -> list:
    """Both warehouse engines as params of a fixture whose setup is expensive and shared: each engine's tests
    in an xdist group of their own, so one worker builds that engine's setup once and the engines run side by side."""
    return [
        pytest.param("duckdb", marks=pytest.mark.xdist_group(f"{setup}_duckdb")),
        pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.xdist_group(f"{setup}_postgres")]),
    ]


@contextmanager
def warehouse_of_its_own(engine: str, tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[str]:
    """The URL of a new, empty warehouse on `engine` ('duckdb' or 'postgres'), for a fixture that keeps its tables
    between the tests sharing it."""
    if engine == "duckdb":
        # not jelou.duckdb: DuckDB names the catalog after the file, and a catalog `jelou` makes every
        # `jelou.<table>` reference ambiguous with the schema `jelou`
        yield f"duckdb:///{tmp_path_factory.mktemp(name) / 'warehouse.duckdb'}"
    else:
        with private_database(f"jelou_{name}") as url:
            yield url
