"""The dbt SLA project as the mart tests drive it: its seeds' policies and calendars, the marts with their grains
and pandas references, and a test warehouse that loads facts, runs real dbt and reads the marts back."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from jelou_assets.defs.sla.marts import BUILD_ARGS
from jelou_assets.sla.dbt_project import DBT_PROJECT_DIR, dbt_warehouse_env
from jelou_assets_tests.support.sla_reference import (
    OPERATOR_GRAIN,
    OPERATOR_PERIOD_GRAIN,
    TEAM_CHANNEL_GRAIN,
    TEAM_GRAIN,
    TEAM_PERIOD_GRAIN,
    Calendars,
    normalise,
    reference_operator_sla,
    reference_period_sla,
    reference_team_channel_sla,
    reference_team_sla,
)

POLICIES = pd.read_csv(DBT_PROJECT_DIR / "seeds" / "sla_policies.csv")
CALENDARS = Calendars.from_seeds(DBT_PROJECT_DIR / "seeds")

DAILY_MARTS = {
    "team_sla_daily": (TEAM_GRAIN, reference_team_sla),
    "operator_sla_daily": (OPERATOR_GRAIN, reference_operator_sla),
    "team_channel_sla_daily": (TEAM_CHANNEL_GRAIN, reference_team_channel_sla),
}
ROLLUPS = {
    "team_sla_weekly": (TEAM_PERIOD_GRAIN, lambda facts, policies, calendars: reference_period_sla(facts, policies, "week", False, calendars)),
    "operator_sla_weekly": (OPERATOR_PERIOD_GRAIN, lambda facts, policies, calendars: reference_period_sla(facts, policies, "week", True, calendars)),
    "team_sla_monthly": (TEAM_PERIOD_GRAIN, lambda facts, policies, calendars: reference_period_sla(facts, policies, "month", False, calendars)),
    "operator_sla_monthly": (OPERATOR_PERIOD_GRAIN, lambda facts, policies, calendars: reference_period_sla(facts, policies, "month", True, calendars)),
}
MARTS = {**DAILY_MARTS, **ROLLUPS}  # name: (grain, reference(facts, policies, calendars))

FACT_COLUMNS = {
    "conversation_id": sa.Text,
    "partition_date": sa.Date,
    "started_at": sa.DateTime,
    "ended_at": sa.DateTime,
    "state": sa.Text,
    "ended_reason": sa.Text,
    "origin": sa.Text,
    "operator_name": sa.Text,
    "team_name": sa.Text,
    "bot_name": sa.Text,
    "company_id": sa.Text,
    "user_id": sa.Text,
    "first_reply_ms": sa.BigInteger,
    "duration_ms": sa.BigInteger,
    "sanity_flag": sa.Text,
    "fetched_at": sa.DateTime,
}
FACTS_TABLE = sa.Table(
    "conversation_facts",
    sa.MetaData(schema="jelou"),
    *(sa.Column(name, type_) for name, type_ in FACT_COLUMNS.items()),
)


def with_fact_dtypes(facts: pd.DataFrame) -> pd.DataFrame:
    """Nullable integers for the millisecond columns (BIGINT, never floats)."""
    return facts.astype({"first_reply_ms": "Int64", "duration_ms": "Int64"})


class Warehouse:
    """One test warehouse: facts in, dbt run, marts out. `project`: the dbt project to run (a copy with seeds of
    its own, or the repository's)."""

    def __init__(self, url: str, workdir: Path, project: Path = DBT_PROJECT_DIR):
        self.url = url
        self.workdir = workdir
        self.project = project
        self.engine = sa.create_engine(url, poolclass=NullPool)  # never hold a DuckDB lock while dbt runs
        self.facts = pd.DataFrame(columns=list(FACT_COLUMNS))
        self.initial_build: dict[str, str] = {}

    def create_facts_table(self) -> None:
        with self.engine.begin() as connection:
            connection.execute(sa.text("create schema if not exists jelou"))
            FACTS_TABLE.create(connection)

    def load_facts(self, facts: pd.DataFrame) -> None:
        """Replace the whole facts table (as the lead's loader would, day by day)."""
        facts = with_fact_dtypes(facts)
        records = facts.astype(object).where(facts.notna(), None).to_dict("records")
        with self.engine.begin() as connection:
            connection.execute(FACTS_TABLE.delete())
            connection.execute(FACTS_TABLE.insert(), records)
        self.facts = facts.reset_index(drop=True)

    def execute(self, sql: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(sa.text(sql))

    def read_mart(self, name: str) -> pd.DataFrame:
        return normalise(self.read_table(name), MARTS[name][0])

    def read_table(self, name: str) -> pd.DataFrame:
        with self.engine.connect() as connection:
            return pd.read_sql(sa.text(f"select * from jelou.{name}"), connection)

    def column_types(self, table: str) -> dict[str, str]:
        query = sa.text(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'jelou' and table_name = :table order by ordinal_position"
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query, {"table": table}).all()
        aliases = {"varchar": "text", "double": "double precision", "float8": "double precision", "int8": "bigint"}
        return {name: aliases.get(type_.lower(), type_.lower()) for name, type_ in rows}

    def dbt(
        self, command: str, *args: str, window: dict | None = None, unit_tests: bool = False, expect_success: bool = True
    ) -> dict[str, str]:
        """Run `dbt <command>` on this warehouse with what the `sla_marts` asset gives dbt: `window` ({min_date,
        max_date}; none: every day) in the environment, so dbt keeps partial parsing from one window to the
        next, and no dbt unit tests (they check the SQL, not the data) unless `unit_tests`. dbt runs in this
        process through its programmatic entry point: the same dbt, without a new interpreter importing it for
        every call. Return {node name: status} from run_results.json; `last_output` holds dbt's messages."""
        from dbt.cli.main import dbtRunner

        skipped = () if unit_tests or command not in ("build", "test") else BUILD_ARGS
        argv = [
            command, *args, *skipped,
            "--profiles-dir", str(self.project),
            "--project-dir", str(self.project),
            "--target-path", str(self.workdir / "target"),
            "--log-path", str(self.workdir / "logs"),
        ]
        messages: list[str] = []
        with dbt_warehouse_env(self.url, window), contextlib.chdir(self.project):
            result = dbtRunner(callbacks=[lambda event: messages.append(event.info.msg)]).invoke(argv)
        if self.engine.dialect.name == "duckdb":
            # dbt-duckdb keeps its DuckDB instance open for the process's next invocation; this process's own
            # connections (another configuration) cannot open the file until it is closed.
            from dbt.adapters.duckdb.connections import DuckDBConnectionManager

            DuckDBConnectionManager.close_all_connections()
        if result.exception is not None:
            messages.append(str(result.exception))
        self.last_output = "\n".join(messages)
        assert result.success == expect_success, f"dbt {command} {'failed' if expect_success else 'passed'}:\n{self.last_output}"
        results_file = self.workdir / "target" / "run_results.json"
        if not results_file.exists():
            return {}
        results = json.loads(results_file.read_text())["results"]
        # unit_test.<project>.<model>.<name>; every other node: <type>.<project>.<name>[.<hash>]
        return {
            result["unique_id"].split(".")[3 if result["unique_id"].startswith("unit_test.") else 2]: result["status"]
            for result in results
        }

    def failing_rows(self, test: str) -> pd.DataFrame:
        """The rows data test `test` fails with: its SQL as the last dbt invocation compiled it, run on the warehouse."""
        results = json.loads((self.workdir / "target" / "run_results.json").read_text())["results"]
        [sql] = [r["compiled_code"] for r in results if r["unique_id"].startswith(f"test.jelou_sla.{test}.")]
        with self.engine.connect() as connection:
            result = connection.exec_driver_sql(sql)
            return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def assert_all_passed(statuses: dict[str, str]) -> None:
    bad = {name: status for name, status in statuses.items() if status not in ("pass", "success")}
    assert not bad, f"dbt nodes did not pass: {bad}"


def read_mart(warehouse, name: str) -> pd.DataFrame:
    """Mart `name` as stored, normalised on its grain for comparison with the reference."""
    return normalise(warehouse.read_frame(sa.text(f"SELECT * FROM jelou.{name}")), MARTS[name][0])
