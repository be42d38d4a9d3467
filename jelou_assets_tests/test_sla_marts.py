"""The dbt SLA marts, built by real dbt on a real DuckDB file and (when
JELOU_TEST_POSTGRES_URL is set) a fresh PostgreSQL database, checked column by column
against the independent pandas implementation in sla_reference.py.

dbt runs as a subprocess of the venv's `dbt`, configured only through
`dbt_env_from_url(url)`, exactly as the pipeline does. Each engine's scenario shares one
warehouse (module-scoped fixture `sla_warehouse`); every test leaves the marts consistent with the facts.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from jelou_assets.sla.dbt_env import dbt_env_from_url
from jelou_assets_tests.sla_reference import (
    BOOL_COLUMNS,
    COUNT_COLUMNS,
    MEASURE_COLUMNS,
    OPERATOR_GRAIN,
    RATIO_COLUMNS,
    SECONDS_COLUMNS,
    TEAM_GRAIN,
    assert_mart_equal,
    normalise,
    reference_operator_sla,
    reference_team_sla,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT = REPO_ROOT / "dbt_project"
DBT_EXECUTABLE = Path(sys.executable).with_name("dbt")
POLICIES = pd.read_csv(DBT_PROJECT / "seeds" / "sla_policies.csv")

DAYS = [dt.date(2025, 3, 1) + dt.timedelta(days=offset) for offset in range(5)]
DAY_WITHOUT_REPLIES = DAYS[3]
MARTS = {"team_sla_daily": TEAM_GRAIN, "operator_sla_daily": OPERATOR_GRAIN}

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


# --------------------------------------------------------------------------- data


def synthetic_facts(seed: int = 20250301) -> pd.DataFrame:
    """Several days of seeded random conversations with the awkward cases built in."""
    rng = np.random.default_rng(seed)
    rosters = {  # "Ana" works for two teams; None = null team / operator
        "Ventas": ["Ana", "Bruno", "Carla"],
        "Soporte": ["Ana", "Diego", "Elena", None],
        "Cobranzas": ["Fabián", "Gabriela"],
        None: ["Hugo", None],
    }
    states = ["active", "closed", "resolved", "expired", "transferred", None]
    state_weights = [0.15, 0.35, 0.3, 0.1, 0.05, 0.05]
    # first replies exactly on a target (<= is inclusive) and one millisecond over it
    boundary_ms = [120_000, 120_001, 300_000, 300_001, 600_000, 600_001]
    rows = []
    for day in DAYS:
        for index in range(int(rng.integers(35, 50))):
            team = rng.choice(np.array(list(rosters), dtype=object))
            operator = rng.choice(np.array(rosters[team], dtype=object))
            state = rng.choice(np.array(states, dtype=object), p=state_weights)
            if day == DAY_WITHOUT_REPLIES or rng.random() < 0.15:
                first_reply_ms = None
            elif rng.random() < 0.15:
                first_reply_ms = int(rng.choice(boundary_ms))
            else:
                first_reply_ms = int(rng.exponential(250_000))
            rows.append(_fact(day, index, team, operator, state, first_reply_ms, rng))
    # a team with a single conversation in the whole data set
    rows.append(_fact(DAYS[1], 99, "Postventa", "Iván", "resolved", 45_500, rng))
    return with_fact_dtypes(pd.DataFrame(rows, columns=list(FACT_COLUMNS)))


def with_fact_dtypes(facts: pd.DataFrame) -> pd.DataFrame:
    """Nullable integers for the millisecond columns (BIGINT, never floats)."""
    return facts.astype({"first_reply_ms": "Int64", "duration_ms": "Int64"})


def _fact(day, index, team, operator, state, first_reply_ms, rng) -> dict:
    started_at = dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=int(rng.integers(0, 86_000)))
    if state == "active":
        duration_ms = None
    else:
        duration_ms = (first_reply_ms or 0) + int(rng.exponential(900_000))
    return {
        "conversation_id": f"conv-{day:%Y%m%d}-{index:03d}",
        "partition_date": day,
        "started_at": started_at,
        "ended_at": None if duration_ms is None else started_at + dt.timedelta(milliseconds=duration_ms),
        "state": state,
        "ended_reason": None if state == "active" else "operator",
        "origin": "whatsapp",
        "operator_name": operator,
        "team_name": team,
        "bot_name": "Bot Principal",
        "company_id": "1234",
        "user_id": f"user-{int(rng.integers(1, 500))}",
        "first_reply_ms": first_reply_ms,
        "duration_ms": duration_ms,
        "sanity_flag": None,
        "fetched_at": dt.datetime(2025, 3, 6, 12, 0),
    }


# ---------------------------------------------------------------------- warehouse


class Warehouse:
    """One test warehouse: facts in, dbt run, marts out."""

    def __init__(self, url: str, workdir: Path):
        self.url = url
        self.workdir = workdir
        self.engine = sa.create_engine(url, poolclass=NullPool)  # never hold a DuckDB lock while dbt runs
        self.facts = pd.DataFrame(columns=list(FACT_COLUMNS))
        self.initial_build: dict[str, str] = {}
        self.dbt_env = {**os.environ, "DBT_USE_COLORS": "false", **dbt_env_from_url(url)}

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
        with self.engine.connect() as connection:
            frame = pd.read_sql(sa.text(f"select * from jelou.{name}"), connection)
        return normalise(frame, MARTS[name])

    def column_types(self, table: str) -> dict[str, str]:
        query = sa.text(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'jelou' and table_name = :table order by ordinal_position"
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query, {"table": table}).all()
        aliases = {"varchar": "text", "double": "double precision", "float8": "double precision", "int8": "bigint"}
        return {name: aliases.get(type_.lower(), type_.lower()) for name, type_ in rows}

    def dbt(self, command: str, *args: str, vars: dict | None = None, expect_success: bool = True) -> dict[str, str]:
        """Run `dbt <command>` from dbt_project/; return {node name: status} from run_results.json."""
        argv = [
            str(DBT_EXECUTABLE), command, *args,
            "--profiles-dir", str(DBT_PROJECT),
            "--project-dir", str(DBT_PROJECT),
            "--target-path", str(self.workdir / "target"),
            "--log-path", str(self.workdir / "logs"),
        ]
        if vars is not None:
            argv += ["--vars", json.dumps(vars)]
        completed = subprocess.run(argv, cwd=DBT_PROJECT, env=self.dbt_env, capture_output=True, text=True, timeout=300)
        output = completed.stdout + completed.stderr
        assert (completed.returncode == 0) == expect_success, f"dbt {command} returned {completed.returncode}:\n{output}"
        results_file = self.workdir / "target" / "run_results.json"
        if not results_file.exists():
            return {}
        results = json.loads(results_file.read_text())["results"]
        return {result["unique_id"].split(".")[2]: result["status"] for result in results}


def assert_marts_match_reference(warehouse: Warehouse, facts: pd.DataFrame | None = None, days=None) -> None:
    facts = warehouse.facts if facts is None else facts
    references = {
        "team_sla_daily": reference_team_sla(facts, POLICIES),
        "operator_sla_daily": reference_operator_sla(facts, POLICIES),
    }
    for name, grain in MARTS.items():
        actual, expected = warehouse.read_mart(name), references[name]
        if days is not None:
            actual = actual[actual["partition_date"].isin(days)].reset_index(drop=True)
            expected = expected[expected["partition_date"].isin(days)].reset_index(drop=True)
        assert_mart_equal(actual, expected, grain)


def assert_all_passed(statuses: dict[str, str]) -> None:
    bad = {name: status for name, status in statuses.items() if status not in ("pass", "success")}
    assert not bad, f"dbt nodes did not pass: {bad}"


# ------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def sla_postgres_url():
    """A brand-new database on the JELOU_TEST_POSTGRES_URL server, dropped afterwards."""
    server_url = os.environ.get("JELOU_TEST_POSTGRES_URL")
    if not server_url:
        pytest.skip("JELOU_TEST_POSTGRES_URL is not set")
    name = f"jelou_sla_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'create database "{name}"'))
    try:
        yield sa.engine.make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'drop database if exists "{name}" with (force)'))
        admin.dispose()


@pytest.fixture(scope="module", params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def sla_warehouse(request, tmp_path_factory) -> Warehouse:
    """Facts for DAYS loaded and both marts fully built (`dbt build`, no window)."""
    workdir = tmp_path_factory.mktemp(f"sla_{request.param}")
    if request.param == "duckdb":
        # not jelou.duckdb: DuckDB names the catalog after the file, and a catalog `jelou`
        # makes every `jelou.<table>` reference ambiguous with the schema `jelou`
        url = f"duckdb:///{workdir / 'warehouse.duckdb'}"
    else:
        url = request.getfixturevalue("sla_postgres_url")
    warehouse = Warehouse(url, workdir)
    warehouse.create_facts_table()
    warehouse.load_facts(synthetic_facts())
    warehouse.initial_build = warehouse.dbt("build")
    yield warehouse
    warehouse.engine.dispose()


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("duckdb:///data/jelou.duckdb", {"JELOU_DBT_TARGET": "duckdb", "JELOU_DBT_DUCKDB_PATH": "<cwd>/data/jelou.duckdb"}),
        ("duckdb:////srv/w.duckdb", {"JELOU_DBT_TARGET": "duckdb", "JELOU_DBT_DUCKDB_PATH": "/srv/w.duckdb"}),
        (
            "postgresql+psycopg://sla:p%40ss%3Aw%2Fd@db.example:6543/warehouse",
            {
                "JELOU_DBT_TARGET": "postgres", "JELOU_DBT_PG_HOST": "db.example", "JELOU_DBT_PG_PORT": "6543",
                "JELOU_DBT_PG_USER": "sla", "JELOU_DBT_PG_PASSWORD": "p@ss:w/d", "JELOU_DBT_PG_DBNAME": "warehouse",
            },
        ),
        (
            "postgres://root@127.0.0.1/test",
            {
                "JELOU_DBT_TARGET": "postgres", "JELOU_DBT_PG_HOST": "127.0.0.1", "JELOU_DBT_PG_PORT": "5432",
                "JELOU_DBT_PG_USER": "root", "JELOU_DBT_PG_PASSWORD": "", "JELOU_DBT_PG_DBNAME": "test",
            },
        ),
        (
            "postgresql://u:pw@h/db?sslmode=require",
            {
                "JELOU_DBT_TARGET": "postgres", "JELOU_DBT_PG_HOST": "h", "JELOU_DBT_PG_PORT": "5432",
                "JELOU_DBT_PG_USER": "u", "JELOU_DBT_PG_PASSWORD": "pw", "JELOU_DBT_PG_DBNAME": "db",
                "JELOU_DBT_PG_SSLMODE": "require",
            },
        ),
    ],
)
def test_dbt_env_from_url(url, expected, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    expected = {key: value.replace("<cwd>", str(tmp_path)) for key, value in expected.items()}
    assert dbt_env_from_url(url) == expected


@pytest.mark.parametrize("url", ["sqlite:///x.db", "mysql+pymysql://u:secret@h/db", "duckdb:///:memory:", "nonsense"])
def test_dbt_env_from_url_rejects_unsupported_urls(url):
    with pytest.raises(ValueError, match="JELOU_WAREHOUSE_URL") as raised:
        dbt_env_from_url(url)
    assert "duckdb:///" in str(raised.value) and "postgresql+psycopg://" in str(raised.value)
    assert "secret" not in str(raised.value)


def test_reference_against_hand_computed_values():
    """Pin the reference itself, so the comparison below is not two wrongs agreeing."""
    day = DAYS[0]
    facts = pd.DataFrame(
        [
            _hand_fact("a", day, "Ventas", "Ana", "closed", 1_000, 10_000),
            _hand_fact("b", day, "Ventas", "Ana", "expired", 2_000, 20_000),
            _hand_fact("c", day, "Ventas", "Bruno", "resolved", 3_000, 30_000),
            _hand_fact("d", day, "Ventas", "Bruno", "closed", 120_000, 40_000),  # exactly on target
            _hand_fact("e", day, "Ventas", None, "active", 120_001, None),  # 1 ms over
            _hand_fact("f", day, "Ventas", None, "weird", None, 60_000),  # never replied
            _hand_fact("g", day, None, "Hugo", None, None, None),
        ],
        columns=list(FACT_COLUMNS),
    )
    team = reference_team_sla(facts, POLICIES).set_index("team_name")
    ventas = team.loc["Ventas"]
    ventas_policy = POLICIES.set_index("team_name").loc["Ventas"]
    first_replies = np.array([1, 2, 3, 120, 120.001])
    assert ventas["conversations"] == 6 and ventas["replied"] == 5 and ventas["within_sla"] == 4
    assert ventas["sla_target_s"] == ventas_policy["first_reply_target_s"] == 120
    assert ventas["sla_attainment"] == 4 / 5
    assert ventas["breached"] == (4 / 5 < ventas_policy["attainment_goal"])
    assert ventas["first_reply_p50_s"] == 3.0
    assert ventas["first_reply_p90_s"] == pytest.approx(120 + 0.6 * 0.001)  # rank 3.6 of 0..4
    assert ventas["first_reply_avg_s"] == pytest.approx(first_replies.mean())
    assert ventas["first_reply_max_s"] == 120.001
    assert ventas["duration_p50_s"] == 30.0 and ventas["duration_p90_s"] == pytest.approx(40 + 0.6 * 20)
    assert (ventas["active"], ventas["closed"], ventas["resolved"], ventas["expired"], ventas["other_state"]) == (1, 2, 1, 1, 1)
    assert ventas["expired_share"] == 1 / 6
    no_team = team.loc["(no team)"]
    default = POLICIES.set_index("team_name").loc["*"]
    assert no_team["sla_target_s"] == default["first_reply_target_s"] and no_team["replied"] == 0
    assert np.isnan(no_team["sla_attainment"]) and not no_team["breached"] and no_team["other_state"] == 1
    operators = reference_operator_sla(facts, POLICIES)
    assert set(operators["operator_name"]) == {"Ana", "Bruno", "(no operator)", "Hugo"}


def _hand_fact(conversation_id, day, team, operator, state, first_reply_ms, duration_ms) -> dict:
    return {
        "conversation_id": conversation_id, "partition_date": day, "state": state, "team_name": team,
        "operator_name": operator, "first_reply_ms": first_reply_ms, "duration_ms": duration_ms,
    }


def test_synthetic_facts_cover_the_awkward_cases():
    facts = synthetic_facts()
    assert facts["conversation_id"].is_unique
    assert (facts.groupby("team_name")["conversation_id"].count() == 1).any()
    assert facts.loc[facts["partition_date"] == DAY_WITHOUT_REPLIES, "first_reply_ms"].isna().all()
    assert facts.dropna(subset=["operator_name", "team_name"]).groupby("operator_name")["team_name"].nunique().max() > 1
    assert facts["team_name"].isna().any() and facts["operator_name"].isna().any()
    assert (~facts["state"].isin(["active", "closed", "resolved", "expired"])).any()
    active = facts[facts["state"] == "active"]
    assert len(active) and active["duration_ms"].isna().all()


def test_full_build_matches_reference(sla_warehouse):
    assert_all_passed(sla_warehouse.initial_build)
    for expected_node in [
        "sla_policies", "team_sla_daily", "operator_sla_daily",
        "team_sla_daily_unique_grain", "operator_sla_daily_unique_grain",
        "team_sla_daily_within_sla_le_replied_le_conversations",
        "team_sla_daily_reconciles_with_facts", "operator_sla_daily_reconciles_with_facts",
    ]:
        assert expected_node in sla_warehouse.initial_build
    assert_marts_match_reference(sla_warehouse)
    team = sla_warehouse.read_mart("team_sla_daily")
    assert team.loc[team["partition_date"] == DAY_WITHOUT_REPLIES, "sla_attainment"].isna().all()
    assert team["breached"].any() and not team["breached"].all()


def test_mart_column_types(sla_warehouse):
    counts = dict.fromkeys(COUNT_COLUMNS, "bigint")
    doubles = dict.fromkeys(SECONDS_COLUMNS + RATIO_COLUMNS, "double precision")
    for name, grain in MARTS.items():
        keys = {"partition_date": "date", **dict.fromkeys(grain[1:], "text")}
        expected = {**keys, **{c: {**counts, **doubles, "breached": "boolean"}[c] for c in MEASURE_COLUMNS}}
        assert sla_warehouse.column_types(name) == expected


def test_rerun_window_replaces_exactly_its_days(sla_warehouse):
    original = sla_warehouse.facts
    window = (DAYS[1], DAYS[2])
    inside, outside = [DAYS[1], DAYS[2]], [DAYS[0], DAYS[3], DAYS[4]]
    before = {name: sla_warehouse.read_mart(name) for name in MARTS}

    changed = original.copy()
    # DAYS[1]: an active conversation got closed, another conversation disappeared
    day1 = changed.index[changed["partition_date"] == DAYS[1]]
    closing = changed.index[(changed["partition_date"] == DAYS[1]) & (changed["state"] == "active")][0]
    changed.loc[closing, ["state", "duration_ms"]] = ["closed", 1_234_567]
    changed.loc[closing, "ended_at"] = changed.loc[closing, "started_at"] + dt.timedelta(milliseconds=1_234_567)
    changed = changed.drop(index=[i for i in day1 if i != closing][:1])
    # DAYS[2]: every conversation vanished
    changed = changed[changed["partition_date"] != DAYS[2]]
    # DAYS[0], outside the window: a late conversation the window run must NOT pick up
    late = _fact(DAYS[0], 500, "Ventas", "Ana", "closed", 5_000, np.random.default_rng(0))
    changed = pd.concat([changed, pd.DataFrame([late])], ignore_index=True)
    sla_warehouse.load_facts(changed)

    statuses = sla_warehouse.dbt("build", vars={"min_date": window[0].isoformat(), "max_date": window[1].isoformat()})
    assert_all_passed(statuses)  # reconciliation is limited to the window, so the stale DAYS[0] is fine
    after = {name: sla_warehouse.read_mart(name) for name in MARTS}

    assert_marts_match_reference(sla_warehouse, changed, days=inside)
    for name, grain in MARTS.items():
        assert not (after[name]["partition_date"] == DAYS[2]).any(), f"{name} kept the vanished day"
        assert_mart_equal(
            after[name][after[name]["partition_date"].isin(outside)].reset_index(drop=True),
            before[name][before[name]["partition_date"].isin(outside)].reset_index(drop=True),
            grain,
        )
    day0 = after["team_sla_daily"]["partition_date"] == DAYS[0]
    assert after["team_sla_daily"].loc[day0, "conversations"].sum() == (original["partition_date"] == DAYS[0]).sum()

    # the same window again changes nothing and duplicates nothing
    sla_warehouse.dbt("run", vars={"min_date": window[0].isoformat(), "max_date": window[1].isoformat()})
    for name, grain in MARTS.items():
        assert_mart_equal(sla_warehouse.read_mart(name), after[name], grain)

    # take the late DAYS[0] conversation back out: facts and marts agree everywhere again
    sla_warehouse.load_facts(changed[changed["conversation_id"] != late["conversation_id"]].reset_index(drop=True))
    assert_marts_match_reference(sla_warehouse)


def test_dbt_tests_catch_broken_data_and_a_full_rerun_repairs_it(sla_warehouse):
    good = sla_warehouse.facts
    # a duplicated grain row in the mart, and a duplicated conversation with a negative first reply
    sla_warehouse.execute(
        "insert into jelou.team_sla_daily select * from jelou.team_sla_daily "
        f"where partition_date = '{DAYS[0].isoformat()}' and team_name = 'Ventas'"
    )
    broken_fact = good[good["partition_date"] == DAYS[4]].iloc[[0]].assign(first_reply_ms=-5)
    sla_warehouse.load_facts(pd.concat([good, broken_fact], ignore_index=True))

    statuses = sla_warehouse.dbt("test", expect_success=False)
    assert statuses["team_sla_daily_unique_grain"] == "fail"
    assert statuses["operator_sla_daily_unique_grain"] == "pass"
    assert statuses["team_sla_daily_reconciles_with_facts"] == "fail"
    assert statuses["source_unique_jelou_conversation_facts_conversation_id"] == "fail"
    negative_reply = [n for n in statuses if n.startswith("source_accepted_range_jelou_conversation_facts_first_reply_ms")]
    assert [statuses[n] for n in negative_reply] == ["warn"]
    assert statuses["team_sla_daily_within_sla_le_replied_le_conversations"] == "pass"

    # an incremental run without a window rebuilds every day, duplicates included
    sla_warehouse.load_facts(good)
    assert_all_passed(sla_warehouse.dbt("build"))
    assert_marts_match_reference(sla_warehouse)


def test_window_vars_are_validated(sla_warehouse):
    if sla_warehouse.engine.dialect.name != "duckdb":
        pytest.skip("engine-independent (Jinja); checked once, on DuckDB")
    for bad_vars, message in [
        ({"min_date": DAYS[1].isoformat()}, "give both vars min_date and max_date"),
        ({"min_date": DAYS[2].isoformat(), "max_date": DAYS[1].isoformat()}, "is after max_date"),
    ]:
        completed = subprocess.run(
            [str(DBT_EXECUTABLE), "compile", "--select", "team_sla_daily", "--profiles-dir", str(DBT_PROJECT),
             "--target-path", str(sla_warehouse.workdir / "target"), "--log-path", str(sla_warehouse.workdir / "logs"),
             "--vars", json.dumps(bad_vars)],
            cwd=DBT_PROJECT, env=sla_warehouse.dbt_env, capture_output=True, text=True, timeout=300,
        )
        assert completed.returncode != 0 and message in completed.stdout + completed.stderr
