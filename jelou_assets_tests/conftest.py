"""Real parts for every test: the emulator over HTTP on an ephemeral port, DuckDB files, PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dagster import DagsterInstance

from jelou_assets.client import JelouResource
from jelou_assets.emulator import JelouEmulator
from jelou_assets.warehouse.resource import WarehouseResource
from jelou_assets_tests.support.emulated_api import jelou_for
from jelou_assets_tests.support.postgres import private_database, reset_schema


@pytest.fixture
def emulator() -> Iterator[JelouEmulator]:
    with JelouEmulator(per_day=120, seed=11) as emu:
        yield emu


@pytest.fixture
def jelou(emulator: JelouEmulator) -> JelouResource:
    return jelou_for(emulator)


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A fresh database on the test server for this session (the contract fixes schema `jelou`)."""
    with private_database("jelou_test") as url:
        yield url


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def warehouse_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "duckdb":
        return f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    url = request.getfixturevalue("postgres_server_url")
    reset_schema(url)
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
