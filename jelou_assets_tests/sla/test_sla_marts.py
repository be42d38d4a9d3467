"""The dbt SLA marts, built by real dbt on a real DuckDB file and (when
JELOU_TEST_POSTGRES_URL is set) a fresh PostgreSQL database, checked column by column
against the independent pandas implementation in sla_reference.py.

dbt runs in the test process through its programmatic entry point, configured only through
`dbt_env_from_url(url)` and the window's environment variables, as the pipeline configures it. Each
engine's scenario shares one warehouse (session-scoped fixture `sla_warehouse`); every test leaves the marts
consistent with the facts.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from jelou_assets.sla.dbt_env import dbt_env_from_url
from jelou_assets_tests.support.dbt_marts import (
    CALENDARS,
    DAILY_MARTS,
    FACT_COLUMNS,
    MARTS,
    POLICIES,
    ROLLUPS,
    Warehouse,
    assert_all_passed,
    with_fact_dtypes,
)
from jelou_assets_tests.support.postgres import engines_grouped, warehouse_of_its_own
from jelou_assets_tests.support.sla_reference import (
    COUNT_COLUMNS,
    TEXT_COLUMNS,
    MEASURE_COLUMNS,
    RATIO_COLUMNS,
    SECONDS_COLUMNS,
    STATUSES,
    assert_mart_equal,
    normalise,
    reference_conversation_sla,
    reference_operator_sla,
    reference_period_sla,
    reference_team_sla,
)

DAYS = [dt.date(2025, 3, 1) + dt.timedelta(days=offset) for offset in range(5)]  # Saturday to Wednesday
DAY_WITHOUT_REPLIES = DAYS[3]
DAY_BEFORE = dt.date(2025, 2, 28)  # one conversation in February, in the week of 24 February
TARGET_S = {team: float(t) for team, t in zip(POLICIES["team_name"], POLICIES["first_reply_target_s"])}



# --------------------------------------------------------------------------- data


def synthetic_facts(seed: int = 20250301) -> pd.DataFrame:
    """Several days of seeded random conversations with the awkward cases built in, including never-replied
    conversations of every status: breached (ended or still waiting past the target), pending (still open,
    fetched younger than the target) and excluded (ended within it), some exactly on the target."""
    rng = np.random.default_rng(seed)
    rosters = {  # "Ana" works for two teams; None = null team / operator
        "Ventas": ["Ana", "Bruno", "Carla"],
        "Soporte": ["Ana", "Diego", "Elena", None],
        "Cobranzas": ["Fabián", "Gabriela"],
        None: ["Hugo", None],
    }
    states = ["active", "closed", "resolved", "expired", "transferred", None]
    state_weights = [0.15, 0.35, 0.3, 0.1, 0.05, 0.05]
    origins = np.array(["whatsapp", "web", "ticket", None], dtype=object)
    # first replies exactly on a target (<= is inclusive) and one millisecond over it
    boundary_ms = [120_000, 120_001, 300_000, 300_001, 600_000, 600_001]
    rows = []
    for day in DAYS:
        for index in range(int(rng.integers(35, 50))):
            team = rng.choice(np.array(list(rosters), dtype=object))
            operator = rng.choice(np.array(rosters[team], dtype=object))
            state = rng.choice(np.array(states, dtype=object), p=state_weights)
            if day == DAY_WITHOUT_REPLIES or rng.random() < 0.25:
                first_reply_ms = None
            elif rng.random() < 0.15:
                first_reply_ms = int(rng.choice(boundary_ms))
            else:
                first_reply_ms = int(rng.exponential(250_000))
            row = _fact(day, index, team, operator, state, first_reply_ms, rng, origin=rng.choice(origins))
            if first_reply_ms is None:
                _unanswered(row, TARGET_S.get(team, TARGET_S["*"]), rng)
            rows.append(row)
    # a team with a single conversation in the whole data set
    rows.append(_fact(DAYS[1], 99, "Postventa", "Iván", "resolved", 45_500, rng))
    # the last day of February: another week and another month
    rows.append(_fact(DAY_BEFORE, 0, "Ventas", "Ana", "closed", 30_000, rng))
    rows.append(_fact(DAY_BEFORE, 1, "Ventas", "Bruno", "closed", 500_000, rng))
    return with_fact_dtypes(pd.DataFrame(rows, columns=list(FACT_COLUMNS)))


def _unanswered(row: dict, target_s: float, rng) -> None:
    """Shape a never-replied conversation into one of the cases around its team's target."""
    started = row["started_at"]
    case = rng.choice(["left_early", "ended_on_target", "open_young", "open_on_target", "as_drawn"], p=[0.3, 0.1, 0.25, 0.1, 0.25])
    if case in ("left_early", "ended_on_target"):
        duration_ms = int(target_s * 1000) if case == "ended_on_target" else int(rng.integers(1_000, int(target_s * 1000 * 1.5)))
        row.update(state="closed", ended_reason="user", duration_ms=duration_ms, ended_at=started + dt.timedelta(milliseconds=duration_ms))
    elif case in ("open_young", "open_on_target"):
        waited_ms = int(target_s * 1000) if case == "open_on_target" else int(rng.integers(0, int(target_s * 1000 * 2)))
        row.update(state="active", ended_reason=None, duration_ms=None, ended_at=None,
                   fetched_at=started + dt.timedelta(milliseconds=waited_ms))


def _fact(day, index, team, operator, state, first_reply_ms, rng, origin="whatsapp") -> dict:
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
        "origin": origin,
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


def one_day(day: dt.date) -> dict[str, str]:
    """The dbt window of a run of one day, as Dagster passes it for one partition."""
    return {"min_date": day.isoformat(), "max_date": day.isoformat()}


def assert_marts_match_reference(warehouse: Warehouse, facts: pd.DataFrame | None = None, days=None) -> None:
    facts = warehouse.facts if facts is None else facts
    for name, (grain, reference) in DAILY_MARTS.items():
        actual, expected = warehouse.read_mart(name), reference(facts, POLICIES, CALENDARS)
        if days is not None:
            actual = actual[actual["partition_date"].isin(days)].reset_index(drop=True)
            expected = expected[expected["partition_date"].isin(days)].reset_index(drop=True)
        assert_mart_equal(actual, expected, grain)


def assert_rollups_match_reference(warehouse: Warehouse, facts: pd.DataFrame | None = None) -> None:
    facts = warehouse.facts if facts is None else facts
    for name, (grain, reference) in ROLLUPS.items():
        assert_mart_equal(warehouse.read_mart(name), normalise(reference(facts, POLICIES, CALENDARS), grain), grain)


# ------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="session", params=engines_grouped("sla_marts"))
def sla_warehouse(request, tmp_path_factory) -> Iterator[Warehouse]:
    """Facts for DAYS loaded and both marts fully built (`dbt build`, no window)."""
    workdir = tmp_path_factory.mktemp(f"sla_{request.param}")
    with warehouse_of_its_own(request.param, tmp_path_factory, "sla_marts") as url:
        warehouse = Warehouse(url, workdir)
        warehouse.create_facts_table()
        warehouse.load_facts(synthetic_facts())
        warehouse.initial_build = warehouse.dbt("build", unit_tests=True)
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
            _hand_fact("d", day, "Ventas", "Bruno", "closed", 120_000, 40_000),  # exactly on target: met
            _hand_fact("e", day, "Ventas", None, "active", 120_001, None),  # 1 ms over: breached
            _hand_fact("f", day, "Ventas", None, "weird", None, 60_000),  # never replied, left after 60 s: excluded
            _hand_fact("g", day, None, "Hugo", None, None, None),  # never replied, waiting 10 s when fetched: pending
            _hand_fact("h", day, "Ventas", "Ana", "expired", None, 120_000),  # never replied, ended on target: excluded
            _hand_fact("i", day, "Ventas", "Ana", "expired", None, 121_000),  # never replied, ended past it: breached
            _hand_fact("j", day, "Ventas", "Ana", "active", None, None, waited_s=120.5),  # still waiting past it: breached
        ],
        columns=list(FACT_COLUMNS),
    )
    statuses = dict(zip(facts["conversation_id"], reference_conversation_sla(facts, POLICIES)["sla_status"]))
    assert statuses == {
        "a": "met", "b": "met", "c": "met", "d": "met", "e": "breached", "f": "excluded", "g": "pending",
        "h": "excluded", "i": "breached", "j": "breached",
    }
    team = reference_team_sla(facts, POLICIES).set_index("team_name")
    ventas = team.loc["Ventas"]
    ventas_policy = POLICIES.set_index("team_name").loc["Ventas"]
    first_replies = np.array([1, 2, 3, 120, 120.001])
    assert (ventas["conversations"], ventas["replied"], ventas["within_sla"], ventas["met"]) == (9, 5, 4, 4)
    assert (ventas["breached_conversations"], ventas["unanswered"], ventas["pending"], ventas["excluded"]) == (3, 4, 0, 2)
    assert ventas["sla_target_s"] == ventas_policy["first_reply_target_s"] == 120
    assert ventas["sla_attainment"] == 4 / 7
    assert ventas["reply_rate"] == 5 / 9
    assert ventas["breached"] == (4 / 7 < ventas_policy["attainment_goal"])
    assert ventas["first_reply_p50_s"] == 3.0
    assert ventas["first_reply_p90_s"] == pytest.approx(120 + 0.6 * 0.001)  # rank 3.6 of 0..4
    assert ventas["first_reply_avg_s"] == pytest.approx(first_replies.mean())
    assert ventas["first_reply_max_s"] == 120.001
    assert ventas["duration_p50_s"] == 40.0
    assert (ventas["active"], ventas["closed"], ventas["resolved"], ventas["expired"], ventas["other_state"]) == (2, 2, 1, 3, 1)
    assert ventas["expired_share"] == 3 / 9
    no_team = team.loc["(no team)"]
    default = POLICIES.set_index("team_name").loc["*"]
    assert no_team["sla_target_s"] == default["first_reply_target_s"] and no_team["replied"] == 0
    assert no_team["pending"] == 1 and np.isnan(no_team["sla_attainment"]) and not no_team["breached"]
    operators = reference_operator_sla(facts, POLICIES)
    assert set(operators["operator_name"]) == {"Ana", "Bruno", "(no operator)", "Hugo"}
    week = reference_period_sla(facts, POLICIES, "week", by_operator=False).set_index("team_name")
    assert week.loc["Ventas", "period_start"] == dt.date(2025, 2, 24) and week.loc["Ventas", "period_end"] == dt.date(2025, 3, 2)
    month = reference_period_sla(facts, POLICIES, "month", by_operator=False).set_index("team_name")
    assert month.loc["Ventas", "period_start"] == dt.date(2025, 3, 1) and month.loc["Ventas", "period_end"] == dt.date(2025, 3, 31)


def _hand_fact(conversation_id, day, team, operator, state, first_reply_ms, duration_ms, waited_s=10.0) -> dict:
    started_at = dt.datetime.combine(day, dt.time(10))
    ended_at = None if duration_ms is None else started_at + dt.timedelta(milliseconds=duration_ms)
    return {
        "conversation_id": conversation_id, "partition_date": day, "state": state, "team_name": team,
        "operator_name": operator, "first_reply_ms": first_reply_ms, "duration_ms": duration_ms,
        "started_at": started_at, "ended_at": ended_at, "fetched_at": started_at + dt.timedelta(seconds=waited_s),
    }


def test_synthetic_facts_cover_the_awkward_cases():
    facts = synthetic_facts()
    assert facts["conversation_id"].is_unique
    assert (facts.groupby("team_name")["conversation_id"].count() == 1).any()
    assert facts.loc[facts["partition_date"] == DAY_WITHOUT_REPLIES, "first_reply_ms"].isna().all()
    assert facts.dropna(subset=["operator_name", "team_name"]).groupby("operator_name")["team_name"].nunique().max() > 1
    assert facts["team_name"].isna().any() and facts["operator_name"].isna().any() and facts["origin"].isna().any()
    assert (~facts["state"].isin(["active", "closed", "resolved", "expired"])).any()
    active = facts[facts["state"] == "active"]
    assert len(active) and active["duration_ms"].isna().all()


def test_synthetic_facts_hold_every_status_and_its_boundaries():
    conversations = reference_conversation_sla(synthetic_facts(), POLICIES, CALENDARS)
    unanswered = conversations[conversations["first_reply_s"].isna()]
    assert set(unanswered["sla_status"]) == {"breached", "pending", "excluded"}
    assert set(conversations["sla_status"]) == set(STATUSES)
    on_target = unanswered[unanswered["elapsed_s"] == unanswered["sla_target_s"]]
    assert {"pending", "excluded"} <= set(on_target["sla_status"]), "never-replied conversations exactly on their target"
    waiting_past = unanswered[unanswered["ended_at"].isna() & (unanswered["sla_status"] == "breached")]
    assert len(waiting_past), "still waiting past the target when fetched"


def test_full_build_matches_reference(sla_warehouse):
    assert_all_passed(sla_warehouse.initial_build)
    for expected_node in ["sla_policies", "conversation_sla", *MARTS]:
        assert expected_node in sla_warehouse.initial_build
    assert_marts_match_reference(sla_warehouse)
    assert_rollups_match_reference(sla_warehouse)
    team = sla_warehouse.read_mart("team_sla_daily")
    assert team["breached"].any() and not team["breached"].all()
    assert team["pending"].sum() and team["excluded"].sum() and team["breached_conversations"].sum()


def test_each_table_is_checked_by_a_few_named_data_tests(sla_warehouse):
    """Every column rule of a table runs in one `<table>_row_rules` test (`_row_rules_warn` for the warnings),
    next to its grain and, on the daily marts, the reconciliation with the facts: a handful of queries per
    table and asset checks whose names say what they check."""
    built = sla_warehouse.initial_build
    expected = {
        **{mart: {"reconciles_with_facts", "unique_grain", "row_rules", "row_rules_warn"} for mart in DAILY_MARTS},
        **{rollup: {"unique_grain", "row_rules"} for rollup in ROLLUPS},
        "conversation_sla": {"unique_grain", "row_rules"},
        "conversation_facts": {"unique_grain", "row_rules", "row_rules_warn"},
        "sla_policies": {"unique_grain", "row_rules", "has_one_default_row", "name_known_calendars"},
        "sla_calendars": {"are_valid"},
        "sla_holidays": {"are_valid"},
    }
    for table, tests in expected.items():
        assert {name[len(table) + 1:] for name in built if name.startswith(f"{table}_")} == tests, table


def test_conversation_sla_gives_each_conversation_the_reference_status(sla_warehouse):
    actual = sla_warehouse.read_table("conversation_sla").sort_values("conversation_id", ignore_index=True)
    expected = reference_conversation_sla(sla_warehouse.facts, POLICIES, CALENDARS).sort_values("conversation_id", ignore_index=True)
    assert list(actual["conversation_id"]) == list(expected["conversation_id"])
    assert list(actual["sla_status"]) == list(expected["sla_status"])
    for column in ["sla_target_s", "first_reply_s", "elapsed_s"]:
        pd.testing.assert_series_equal(pd.to_numeric(actual[column]).astype("float64"), expected[column],
                                       check_exact=False, rtol=0, atol=1e-6, check_names=False)
    reasons = actual.groupby("sla_status")["sla_reason"].unique().map(set).to_dict()
    assert reasons["breached"] == {"replied after target", "no reply, ended after target", "no reply, still waiting past target"}
    assert reasons["pending"] == {"no reply yet, younger than target"}


def test_unit_tests_pin_every_status_boundary(sla_warehouse):
    unit_tests = {name: status for name, status in sla_warehouse.initial_build.items() if name.startswith("status_")}
    assert set(unit_tests) >= {
        "status_reply_on_target_met_one_ms_later_breached",
        "status_no_reply_ended_on_target_excluded_one_s_later_breached",
        "status_no_reply_open_under_target_pending_past_it_breached",
        "status_unlisted_or_missing_team_gets_the_default_policy",
        "status_no_reply_without_start_time_excluded",
    }
    assert sla_warehouse.initial_build["attainment_counts_unanswered_breaches_not_pending_or_excluded"] == "pass"
    assert set(unit_tests.values()) == {"pass"}


def test_mart_column_types(sla_warehouse):
    counts = dict.fromkeys(COUNT_COLUMNS, "bigint")
    doubles = dict.fromkeys(SECONDS_COLUMNS + RATIO_COLUMNS, "double precision")
    for name, (grain, _) in MARTS.items():
        keys = {grain[0]: "date", **({"period_end": "date"} if name in ROLLUPS else {}), **dict.fromkeys(grain[1:], "text")}
        texts = dict.fromkeys(TEXT_COLUMNS, "text")
        expected = {**keys, **{c: {**counts, **doubles, **texts, "breached": "boolean"}[c] for c in MEASURE_COLUMNS}}
        assert sla_warehouse.column_types(name) == expected, name


def test_rerun_window_replaces_exactly_its_days(sla_warehouse):
    original = sla_warehouse.facts
    window = (DAYS[1], DAYS[2])
    inside, outside = [DAYS[1], DAYS[2]], [DAY_BEFORE, DAYS[0], DAYS[3], DAYS[4]]
    before = {name: sla_warehouse.read_mart(name) for name in DAILY_MARTS}

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

    window_days = {"min_date": window[0].isoformat(), "max_date": window[1].isoformat()}
    statuses = sla_warehouse.dbt("build", "--exclude", "tag:weekly", "tag:monthly", window=window_days)
    assert_all_passed(statuses)  # reconciliation is limited to the window, so the stale DAYS[0] is fine
    after = {name: sla_warehouse.read_mart(name) for name in DAILY_MARTS}

    assert_marts_match_reference(sla_warehouse, changed, days=inside)
    for name, (grain, _) in DAILY_MARTS.items():
        assert not (after[name]["partition_date"] == DAYS[2]).any(), f"{name} kept the vanished day"
        assert_mart_equal(
            after[name][after[name]["partition_date"].isin(outside)].reset_index(drop=True),
            before[name][before[name]["partition_date"].isin(outside)].reset_index(drop=True),
            grain,
        )
    day0 = after["team_sla_daily"]["partition_date"] == DAYS[0]
    assert after["team_sla_daily"].loc[day0, "conversations"].sum() == (original["partition_date"] == DAYS[0]).sum()

    # the same window again changes nothing and duplicates nothing
    sla_warehouse.dbt("run", "--exclude", "tag:weekly", "tag:monthly", window=window_days)
    for name, (grain, _) in DAILY_MARTS.items():
        assert_mart_equal(sla_warehouse.read_mart(name), after[name], grain)

    # take the late DAYS[0] conversation back out: facts and marts agree everywhere again
    sla_warehouse.load_facts(changed[changed["conversation_id"] != late["conversation_id"]].reset_index(drop=True))
    assert_all_passed(sla_warehouse.dbt("build", window=one_day(DAYS[0])))
    assert_marts_match_reference(sla_warehouse)


def test_a_rollup_rebuilt_for_one_day_recomputes_its_whole_period(sla_warehouse):
    """A window of one day (what a late-arrival refresh changes) rebuilds the week and the month holding it
    from all their days' conversations, never from that day alone."""
    original = sla_warehouse.facts
    changed = original.copy()
    day = DAYS[3]  # Tuesday 4 March: week of 3 March, month of March
    replies = changed.index[(changed["partition_date"] == day)][:5]
    changed.loc[replies, "first_reply_ms"] = 1_000  # replies that arrived since
    sla_warehouse.load_facts(changed)
    assert_all_passed(sla_warehouse.dbt("build", window=one_day(day)))
    assert_rollups_match_reference(sla_warehouse, changed)

    sla_warehouse.load_facts(original)
    assert_all_passed(sla_warehouse.dbt("build", window=one_day(day)))
    assert_rollups_match_reference(sla_warehouse)


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
    assert statuses["conversation_facts_unique_grain"] == "fail"
    assert statuses["conversation_facts_row_rules_warn"] == "warn"  # a negative first reply warns, never blocks
    assert list(sla_warehouse.failing_rows("conversation_facts_row_rules_warn")["rule"]) == ["non_negative(first_reply_ms)"]
    assert statuses["team_sla_daily_row_rules"] == "pass"  # a duplicated row breaks no rule of its own

    # an incremental run without a window rebuilds every day, duplicates included
    sla_warehouse.load_facts(good)
    assert_all_passed(sla_warehouse.dbt("build"))
    assert_marts_match_reference(sla_warehouse)
    assert_rollups_match_reference(sla_warehouse)


def test_a_row_breaking_column_rules_fails_row_rules_once_per_broken_rule(sla_warehouse):
    sla_warehouse.execute(
        "update jelou.team_sla_daily set reply_rate = 1.5, sla_target_s = null "
        f"where partition_date = '{DAYS[0].isoformat()}' and team_name = 'Ventas'"
    )
    statuses = sla_warehouse.dbt("test", "--select", "team_sla_daily", expect_success=False)
    assert statuses.pop("team_sla_daily_row_rules") == "fail"
    assert_all_passed(statuses)
    failures = sla_warehouse.failing_rows("team_sla_daily_row_rules")
    assert sorted(failures["rule"]) == ["not_null(sla_target_s)", "range(reply_rate, 0, 1)"]
    assert set(failures["team_name"]) == {"Ventas"}
    assert set(pd.to_datetime(failures["partition_date"]).dt.date) == {DAYS[0]}

    assert_all_passed(sla_warehouse.dbt("build", "--select", "team_sla_daily", window=one_day(DAYS[0])))
    assert_marts_match_reference(sla_warehouse)


def test_row_rules_check_only_the_days_of_the_run(sla_warehouse):
    """A run's tests scan the days it rebuilt; other days were checked when they were built."""
    sla_warehouse.execute(
        f"update jelou.team_sla_daily set reply_rate = 1.5 where partition_date = '{DAYS[0].isoformat()}'"
    )
    assert sla_warehouse.dbt("test", "--select", "team_sla_daily_row_rules", window=one_day(DAYS[1])) == {
        "team_sla_daily_row_rules": "pass"
    }
    assert sla_warehouse.dbt(
        "test", "--select", "team_sla_daily_row_rules", window=one_day(DAYS[0]), expect_success=False
    ) == {"team_sla_daily_row_rules": "fail"}

    sla_warehouse.dbt("run", "--select", "team_sla_daily", window=one_day(DAYS[0]))
    assert_marts_match_reference(sla_warehouse)


def test_window_vars_are_validated(sla_warehouse):
    if sla_warehouse.engine.dialect.name != "duckdb":
        pytest.skip("engine-independent (Jinja); checked once, on DuckDB")
    for bad_vars, message in [
        ({"min_date": DAYS[1].isoformat()}, "give both vars min_date and max_date"),
        ({"min_date": DAYS[2].isoformat(), "max_date": DAYS[1].isoformat()}, "is after max_date"),
    ]:
        sla_warehouse.dbt("compile", "--select", "team_sla_daily", "--vars", json.dumps(bad_vars), expect_success=False)
        assert message in sla_warehouse.last_output
