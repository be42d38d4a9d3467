"""Real parts for every test: the emulator over HTTP on an ephemeral port, DuckDB files, PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from dagster import DagsterInstance

from jelou_assets.client import JelouResource
from jelou_assets.emulator import JelouEmulator
from jelou_assets.warehouse.resource import WarehouseResource

POSTGRES_URL = os.environ.get("JELOU_TEST_POSTGRES_URL")


@pytest.fixture
def emulator() -> Iterator[JelouEmulator]:
    with JelouEmulator(per_day=120, seed=11) as emu:
        yield emu


@pytest.fixture
def jelou(emulator: JelouEmulator) -> JelouResource:
    return jelou_for(emulator)


def jelou_for(emu: JelouEmulator, **overrides) -> JelouResource:
    settings = dict(
        base_url=emu.url,
        client_id=emu.config.client_id,
        client_secret=emu.config.client_secret,
        requests_per_second=200.0,
        # Retries are counted, not waited out: a tenth of the production backoff, waits capped at 2 s.
        retry_backoff_s=0.05,
        max_retry_wait_s=2.0,
    )
    settings.update(overrides)
    return JelouResource(**settings)


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A fresh database on the test server for this session (the contract fixes schema `jelou`)."""
    if not POSTGRES_URL:
        pytest.skip("JELOU_TEST_POSTGRES_URL is not set")
    admin = sa.create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    name = f"jelou_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(POSTGRES_URL).set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _reset(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP SCHEMA IF EXISTS jelou CASCADE"))
    engine.dispose()


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def warehouse_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "duckdb":
        return f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    url = request.getfixturevalue("postgres_server_url")
    _reset(url)
    return url


@pytest.fixture
def warehouse(warehouse_url: str) -> WarehouseResource:
    resource = WarehouseResource(url=warehouse_url)
    resource.ensure_tables()
    return resource


@pytest.fixture
def instance() -> Iterator[DagsterInstance]:
    with DagsterInstance.ephemeral() as ephemeral:
        yield ephemeral
