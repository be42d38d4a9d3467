"""Business hours end to end: real dbt on a real DuckDB file and a fresh PostgreSQL database, with calendars of
the test's own (split shifts, a night shift running past midnight and through a DST change, a holiday), and
conversations arriving in and out of hours. `conversation_sla` and every mart equal the independent pandas
computation in sla_reference.py; a bad calendar stops `dbt build` naming the calendar, the row and the fix,
and no SLA table changes.

The dbt project is a copy whose seeds are the test's, so the repository's seeds stay as they are.
"""

from __future__ import annotations

import datetime as dt
import io
import shutil
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from jelou_assets.sla.dbt_project import DBT_PROJECT_DIR
from jelou_assets_tests.support.sla_reference import Calendars, assert_mart_equal, normalise, reference_conversation_sla
from jelou_assets_tests.support.dbt_marts import FACT_COLUMNS, MARTS, Warehouse, assert_all_passed, with_fact_dtypes
from jelou_assets_tests.support.postgres import engines_grouped, warehouse_of_its_own

ACCOUNT_ZONE = ZoneInfo("America/Guayaquil")
# Thursday 27 March to Wednesday 2 April 2025: a weekend, Madrid's change to summer time on the night of
# Saturday 29 to Sunday 30 March, and Monday 31 March a holiday of the Turnos calendar.
DAYS = [dt.date(2025, 3, 27) + dt.timedelta(days=offset) for offset in range(7)]
HOLIDAY = dt.date(2025, 3, 31)
CALENDARS_CSV = """calendar,timezone,weekday,opens,closes
Turnos,America/Guayaquil,1,08:00,12:00
Turnos,America/Guayaquil,1,14:00,18:00
Turnos,America/Guayaquil,2,08:00,12:00
Turnos,America/Guayaquil,2,14:00,18:00
Turnos,America/Guayaquil,3,08:00,12:00
Turnos,America/Guayaquil,3,14:00,18:00
Turnos,America/Guayaquil,4,08:00,12:00
Turnos,America/Guayaquil,4,14:00,18:00
Turnos,America/Guayaquil,5,08:00,12:00
Turnos,America/Guayaquil,5,14:00,18:00
Turnos,America/Guayaquil,5,22:00,02:00
Turnos,America/Guayaquil,6,09:00,13:00
Guardia,Europe/Madrid,1,20:00,08:00
Guardia,Europe/Madrid,2,20:00,08:00
Guardia,Europe/Madrid,3,20:00,08:00
Guardia,Europe/Madrid,4,20:00,08:00
Guardia,Europe/Madrid,5,20:00,08:00
Guardia,Europe/Madrid,6,20:00,08:00
Guardia,Europe/Madrid,7,20:00,24:00
"""
HOLIDAYS_CSV = f"calendar,date\nTurnos,{HOLIDAY.isoformat()}\n"
POLICIES_CSV = """team_name,first_reply_target_s,attainment_goal,calendar
*,300,0.80,
Soporte,600,0.85,Turnos
Guardia,300,0.80,Guardia
"""
TEAMS = {"Soporte": ["Ana", "Bruno"], "Guardia": ["Carla", "Diego"], "Ventas": ["Elena"]}


def write_seeds(project: Path, calendars: str = CALENDARS_CSV, holidays: str = HOLIDAYS_CSV,
                policies: str = POLICIES_CSV) -> None:
    seeds = project / "seeds"
    (seeds / "sla_calendars.csv").write_text(calendars)
    (seeds / "sla_holidays.csv").write_text(holidays)
    (seeds / "sla_policies.csv").write_text(policies)


POLICIES = pd.read_csv(io.StringIO(POLICIES_CSV))
CALENDARS = Calendars(pd.read_csv(io.StringIO(CALENDARS_CSV), dtype=str), pd.read_csv(io.StringIO(HOLIDAYS_CSV), dtype=str))


def business_hours_facts(seed: int = 20250327) -> pd.DataFrame:
    """A week of conversations at any hour, most of them replied within minutes to hours (the next morning for some),
    some never; a few still open when fetched."""
    rng = np.random.default_rng(seed)
    fetched_at = dt.datetime(2025, 4, 3, 12, 0)
    rows = []
    for day in DAYS:
        midnight = dt.datetime.combine(day, dt.time(), ACCOUNT_ZONE).astimezone(dt.UTC).replace(tzinfo=None)
        for index in range(45):
            team = str(rng.choice(list(TEAMS)))
            started_at = midnight + dt.timedelta(seconds=int(rng.integers(0, 86_400)))
            kind = rng.choice(["minutes", "hours", "never"], p=[0.55, 0.3, 0.15])
            first_reply_ms = None if kind == "never" else int(
                rng.exponential(240_000 if kind == "minutes" else 6 * 3_600_000)) + 1_000
            open_ms = (first_reply_ms or 0) + int(rng.exponential(1_800_000))
            ended_at = started_at + dt.timedelta(milliseconds=open_ms)
            still_open = ended_at > fetched_at - dt.timedelta(hours=20) and rng.random() < 0.5
            rows.append({
                "conversation_id": f"bh-{day:%m%d}-{index:02d}", "partition_date": day, "started_at": started_at,
                "ended_at": None if still_open else ended_at, "state": "active" if still_open else "closed",
                "ended_reason": None, "origin": str(rng.choice(["whatsapp", "web"])), "team_name": team,
                "operator_name": str(rng.choice(TEAMS[team])), "bot_name": "Bot", "company_id": "1042", "user_id": None,
                "first_reply_ms": first_reply_ms, "duration_ms": None if still_open else open_ms, "sanity_flag": None,
                "fetched_at": fetched_at,
            })
    return with_fact_dtypes(pd.DataFrame(rows, columns=list(FACT_COLUMNS)))


def copy_of_the_project(destination: Path) -> Path:
    shutil.copytree(DBT_PROJECT_DIR, destination, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    write_seeds(destination)
    return destination


# ------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module", params=engines_grouped("business_hours"))
def hours_warehouse(request, tmp_path_factory) -> Iterator[Warehouse]:
    """The week's facts, the test's calendars, every SLA model built (`dbt build`, no window)."""
    workdir = tmp_path_factory.mktemp(f"hours_{request.param}")
    project = copy_of_the_project(workdir / "dbt_project")
    with warehouse_of_its_own(request.param, tmp_path_factory, "hours") as url:
        warehouse = Warehouse(url, workdir, project)
        warehouse.create_facts_table()
        warehouse.load_facts(business_hours_facts())
        warehouse.initial_build = warehouse.dbt("build", unit_tests=True)
        yield warehouse
        warehouse.engine.dispose()


def sla_tables(warehouse: Warehouse) -> dict[str, pd.DataFrame]:
    tables = {name: warehouse.read_mart(name) for name in MARTS}
    tables["conversation_sla"] = warehouse.read_table("conversation_sla").sort_values("conversation_id", ignore_index=True)
    return tables


# ---------------------------------------------------------------------------------------- tests


def test_the_week_holds_out_of_hours_arrivals_the_holiday_and_the_dst_night():
    """The scenario is what the other tests claim to cover."""
    conversations = reference_conversation_sla(business_hours_facts(), POLICIES, CALENDARS)
    on_business = conversations[conversations["sla_clock"] != "calendar"]
    local = pd.to_datetime(on_business["started_at"]).dt.tz_localize("UTC")
    soporte = on_business["team_name"] == "Soporte"
    quito = local.dt.tz_convert("America/Guayaquil")
    # Turnos is always closed from 02:00 to 08:00 and on Sundays
    out_of_hours = on_business[soporte & (quito.dt.hour.between(2, 7) | (quito.dt.day_of_week == 6))]
    assert len(out_of_hours) >= 20
    assert (out_of_hours["elapsed_s"] <= out_of_hours["elapsed_calendar_s"]).all()
    assert (out_of_hours["elapsed_s"] < out_of_hours["elapsed_calendar_s"]).mean() > 0.9
    replied = out_of_hours[out_of_hours["first_reply_s"].notna()]
    assert (replied["first_reply_s"] < replied["first_reply_calendar_s"]).mean() > 0.9
    on_holiday = soporte & (quito.dt.date == HOLIDAY)
    assert on_holiday.sum() >= 5
    madrid = local.dt.tz_convert("Europe/Madrid")
    dst_night = (on_business["team_name"] == "Guardia") & (madrid.dt.date == dt.date(2025, 3, 30)) & (madrid.dt.hour < 8)
    assert dst_night.any()
    calendar_time = conversations[conversations["sla_clock"] == "calendar"]
    assert set(calendar_time["team_name"]) == {"Ventas"}
    assert set(conversations["sla_status"]) == {"met", "breached", "pending", "excluded"}
    assert {"met", "breached"} <= set(on_business["sla_status"])


def test_conversation_sla_reads_each_conversation_on_its_policys_clock(hours_warehouse):
    assert_all_passed(hours_warehouse.initial_build)
    actual = hours_warehouse.read_table("conversation_sla").sort_values("conversation_id", ignore_index=True)
    expected = reference_conversation_sla(hours_warehouse.facts, POLICIES, CALENDARS).sort_values(
        "conversation_id", ignore_index=True)
    assert list(actual["conversation_id"]) == list(expected["conversation_id"])
    assert list(actual["sla_clock"]) == list(expected["sla_clock"])
    assert list(actual["sla_status"]) == list(expected["sla_status"])
    for column in ["first_reply_s", "elapsed_s", "first_reply_calendar_s", "elapsed_calendar_s"]:
        pd.testing.assert_series_equal(pd.to_numeric(actual[column]).astype("float64"), expected[column].astype("float64"),
                                       check_exact=False, rtol=0, atol=1e-6, check_names=False, obj=column)


def test_every_mart_equals_the_reference_on_business_hours(hours_warehouse):
    for name, (grain, reference) in MARTS.items():
        expected = normalise(reference(hours_warehouse.facts, POLICIES, CALENDARS), grain)
        assert_mart_equal(hours_warehouse.read_mart(name), expected, grain)
    team = hours_warehouse.read_mart("team_sla_daily").set_index(["partition_date", "team_name"])
    assert set(team["sla_clock"]) == {"Turnos", "Guardia", "calendar"}
    soporte = team.xs("Soporte", level="team_name")
    assert (soporte["first_reply_p90_s"] < soporte["first_reply_calendar_p90_s"]).any()
    ventas = team.xs("Ventas", level="team_name")
    pd.testing.assert_series_equal(ventas["first_reply_p90_s"], ventas["first_reply_calendar_p90_s"], check_names=False)


def test_a_window_rebuilt_on_business_hours_equals_the_reference(hours_warehouse):
    """A late reply to a conversation of the holiday, rebuilt as a partition run rebuilds its day."""
    original = hours_warehouse.facts
    changed = original.copy()
    on_holiday = changed.index[(changed["partition_date"] == HOLIDAY) & (changed["team_name"] == "Soporte")
                               & changed["first_reply_ms"].isna()]
    changed.loc[on_holiday, "first_reply_ms"] = 9 * 3_600_000
    hours_warehouse.load_facts(changed)
    assert_all_passed(hours_warehouse.dbt("build", window={"min_date": HOLIDAY.isoformat(), "max_date": HOLIDAY.isoformat()}))
    for name, (grain, reference) in MARTS.items():
        assert_mart_equal(hours_warehouse.read_mart(name), normalise(reference(changed, POLICIES, CALENDARS), grain), grain)
    hours_warehouse.load_facts(original)
    assert_all_passed(hours_warehouse.dbt("build", window={"min_date": HOLIDAY.isoformat(), "max_date": HOLIDAY.isoformat()}))


BAD_SEEDS = {
    "calendars": CALENDARS_CSV
    + "Turnos,America/Guayaquil,1,11:30,13:00\n"  # overlaps Monday 08:00-12:00
    + "Guardia,Europe/Madrid,2,07:00,09:00\n"  # overlaps the morning end of Monday's night shift
    + "Noche,Mars/Olympus,2,22:00,06:00\n"
    + "Tarde,America/Guayaquil,3,14:00,25:00\n",
    "holidays": HOLIDAYS_CSV + "Turno,2025-04-01\nTurnos,2025-02-30\n",
    "policies": POLICIES_CSV + "Reclamos,300,0.80,Oficina\n",
}


def test_bad_calendars_stop_the_build_naming_calendar_row_and_fix_and_no_sla_table_changes(hours_warehouse):
    before = sla_tables(hours_warehouse)
    write_seeds(hours_warehouse.project, BAD_SEEDS["calendars"], BAD_SEEDS["holidays"], BAD_SEEDS["policies"])
    try:
        statuses = hours_warehouse.dbt("build", expect_success=False)
        output = hours_warehouse.last_output
    finally:
        write_seeds(hours_warehouse.project)
    assert statuses["sla_calendars_are_valid"] == statuses["sla_holidays_are_valid"] == "error"
    assert statuses["sla_policies_name_known_calendars"] == "error"
    assert {statuses[name] for name in ["conversation_sla", *MARTS]} == {"skipped"}
    for expected in [
        "row 'Turnos,America/Guayaquil,1,11:30,13:00' (calendar 'Turnos') overlaps row "
        "'Turnos,America/Guayaquil,1,08:00,12:00' from Monday 11:30 to Monday 12:00. Fix: make the calendar's intervals disjoint",
        "row 'Guardia,Europe/Madrid,2,07:00,09:00' (calendar 'Guardia') overlaps row 'Guardia,Europe/Madrid,1,20:00,08:00' "
        "from Tuesday 07:00 to Tuesday 08:00",
        "row 'Noche,Mars/Olympus,2,22:00,06:00' (calendar 'Noche') has time zone 'Mars/Olympus', which the warehouse does "
        "not know. Fix: use an IANA zone name",
        "row 'Tarde,America/Guayaquil,3,14:00,25:00' (calendar 'Tarde') closes at '25:00', not a time of day. Fix: write HH:MM",
        "sla_holidays.csv row 'Turno,2025-04-01' names calendar 'Turno', which sla_calendars.csv does not define",
        "sla_holidays.csv row 'Turnos,2025-02-30' has date '2025-02-30', not a day. Fix: write the local day as YYYY-MM-DD",
        "sla_policies.csv row for team 'Reclamos' names calendar 'Oficina', which sla_calendars.csv does not define",
    ]:
        assert expected in output, expected
    after = sla_tables(hours_warehouse)
    for name, table in before.items():
        pd.testing.assert_frame_equal(after[name], table, obj=name)
    assert_all_passed(hours_warehouse.dbt("build"))
