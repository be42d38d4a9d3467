"""The business clock of `conversation_sla` against a brute force.

Hypothesis draws calendars (split shifts, intervals past midnight and across the week's end, 24:00
closings, holidays) in zones with DST changes, and conversations around those changes; the model's
own compiled SQL runs on DuckDB (and PostgreSQL when JELOU_TEST_POSTGRES_URL is set), one query per
drawn batch, and its business seconds agree to the millisecond with a count made minute by minute in
Python from the rule in docs/SLA.md, and with the pandas reference that the mart tests use.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd
import psycopg
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jelou_assets.sla.dbt_project import WINDOW_ENV
from jelou_assets_tests.support.dbt_marts import Warehouse
from jelou_assets_tests.support.postgres import private_database
from jelou_assets_tests.support.sla_reference import Calendars


# Zones whose rules Python's tz database, PostgreSQL's and DuckDB's ICU agree on for 2024-2025: changes at
# 02:00 and 03:00, at midnight (Santiago), by 30 minutes (Lord Howe), negative DST (Dublin), odd offsets.
ZONES = [
    "America/New_York", "Europe/Berlin", "Europe/Dublin", "Australia/Sydney", "Australia/Lord_Howe",
    "America/Santiago", "Pacific/Chatham", "America/St_Johns", "Asia/Kathmandu", "America/Guayaquil",
]
FIRST_DAY, LAST_DAY = date(2024, 1, 8), date(2025, 12, 20)
# Opening times on which DST changes fall in some zone, and ordinary office times.
TIMES_OF_DAY = [0, 30, 60, 90, 120, 150, 180, 210, 240, 300, 360, 480, 540, 600, 720, 780, 840, 1020, 1080, 1200,
                1320, 1380, 1410]
WEEK = 7 * 1440
FACT_COLUMNS = {
    "conversation_id": "text", "partition_date": "date", "started_at": "timestamp", "ended_at": "timestamp",
    "state": "text", "ended_reason": "text", "origin": "text", "operator_name": "text", "team_name": "text",
    "bot_name": "text", "company_id": "text", "user_key": "text", "first_reply_ms": "bigint", "duration_ms": "bigint",
    "sanity_flag": "text", "fetched_at": "timestamp",
}
SEED_COLUMNS = {
    "sla_policies": {"team_name": "text", "first_reply_target_s": "double precision", "attainment_goal": "double precision",
                     "calendar": "text"},
    "sla_calendars": dict.fromkeys(["calendar", "timezone", "weekday", "opens", "closes"], "text"),
    "sla_holidays": dict.fromkeys(["calendar", "date"], "text"),
}


def transition_days(zone: str) -> list[date]:
    """The local days on which `zone` changes its UTC offset between FIRST_DAY and LAST_DAY."""
    tz, days = ZoneInfo(zone), []
    instant = datetime.combine(FIRST_DAY, time(), UTC)
    offset = instant.astimezone(tz).utcoffset()
    while instant.date() < LAST_DAY:
        instant += timedelta(minutes=30)
        if instant.astimezone(tz).utcoffset() != offset:
            offset = instant.astimezone(tz).utcoffset()
            days.append(instant.astimezone(tz).date())
    return days


TRANSITIONS = {zone: transition_days(zone) for zone in ZONES}


# ------------------------------------------------------------------------------ the brute force


def later_instant(local: datetime, zone: ZoneInfo) -> int:
    """Epoch seconds of a local time; one that DST skips or repeats reads as the later of its two instants."""
    return int(max(local.replace(tzinfo=zone, fold=0).timestamp(), local.replace(tzinfo=zone, fold=1).timestamp()))


def open_minutes(rows: list[dict], holidays: set[date], zone: str, first: date, last: date) -> set[int]:
    """Every UTC minute (epoch minute) in which the calendar is open, from the rule read literally: each row
    opens on its weekday at `opens` and closes at `closes` the same day, or the next day when `closes` is not
    after `opens`; on a holiday nothing that lies on that local day is open; a local time is read as the
    later of its instants."""
    tz, minutes = ZoneInfo(zone), set()
    for offset in range((last - first).days + 1):
        day = first + timedelta(days=offset)
        if day in holidays:
            continue
        midnight = datetime.combine(day, time())
        for row in rows:
            opens = int(row["opens"][:2]) * 60 + int(row["opens"][3:])
            closes = int(row["closes"][:2]) * 60 + int(row["closes"][3:])
            runs_past_midnight = closes <= opens
            on_this_day = []
            if int(row["weekday"]) == day.isoweekday():
                on_this_day.append((opens, 1440 if runs_past_midnight else closes))
            if runs_past_midnight and int(row["weekday"]) % 7 + 1 == day.isoweekday():
                on_this_day.append((0, closes))
            for start, end in on_this_day:
                begin = later_instant(midnight + timedelta(minutes=start), tz)
                finish = later_instant(midnight + timedelta(minutes=end), tz)
                minutes.update(range(begin // 60, finish // 60))
    return minutes


def brute_force_seconds(minutes: set[int], start: datetime, stop: datetime) -> float:
    """Open seconds from `start` to `stop` (naive UTC), a minute at a time, the partial minutes at both ends exact."""
    t0, t1 = start.replace(tzinfo=UTC).timestamp(), stop.replace(tzinfo=UTC).timestamp()
    if t1 < t0:
        return -brute_force_seconds(minutes, stop, start)
    return sum(
        min(t1, (minute + 1) * 60) - max(t0, minute * 60)
        for minute in range(math.floor(t0 / 60), math.ceil(t1 / 60))
        if minute in minutes
    )


# ------------------------------------------------------------------------------- what is drawn


@dataclass
class Scenario:
    calendars: list[dict]  # name, timezone, rows, holidays
    facts: pd.DataFrame


@st.composite
def week_rows(draw) -> list[dict]:
    """Disjoint intervals on the week's circle as sla_calendars rows: cut points paired up, the last pair
    possibly wrapping from Sunday into Monday; a stretch longer than a day becomes several touching rows."""
    points = sorted(draw(st.sets(
        st.tuples(st.integers(0, 6), st.sampled_from(TIMES_OF_DAY)).map(lambda p: p[0] * 1440 + p[1]),
        min_size=2, max_size=12,
    )))
    if len(points) % 2:
        points = points[:-1]
    if draw(st.booleans()):
        points = points[1:] + [points[0] + WEEK]  # the last interval runs across Sunday midnight
    rows = []
    for start, end in zip(points[::2], points[1::2]):
        while start < end:
            piece_end = min(end, start + 1440)
            opens, closes = start % 1440, piece_end % 1440
            closing = "24:00" if closes == 0 and piece_end - start == 1440 - opens and draw(st.booleans()) else \
                f"{closes // 60:02d}:{closes % 60:02d}"
            rows.append({"weekday": str((start // 1440) % 7 + 1), "opens": f"{opens // 60:02d}:{opens % 60:02d}",
                         "closes": closing})
            start = piece_end
    return rows


@st.composite
def shift_rows(draw) -> list[dict]:
    """A shift pattern repeated on chosen weekdays: split shifts, a night shift past midnight, or a shift
    across the small hours in which DST changes fall."""
    shifts = draw(st.sampled_from([
        [("08:00", "12:00"), ("13:00", "18:00")],
        [("22:00", "06:00")],
        [("09:00", "17:00"), ("20:00", "02:30")],
        [("01:00", "04:00")],
        [("00:00", "00:00")],
    ]))
    weekdays = draw(st.sets(st.integers(1, 7), min_size=1))
    return [{"weekday": str(day), "opens": opens, "closes": closes} for day in sorted(weekdays) for opens, closes in shifts
            if not (closes <= opens and day % 7 + 1 in weekdays and any(o < closes for o, _ in shifts))]


@st.composite
def spans(draw, first_day: int, last_day: int, whole_seconds=st.just(False)) -> timedelta:
    """A duration of some days, hours and seconds, spread evenly over the day rather than bunched at its start."""
    span = timedelta(days=draw(st.integers(first_day, last_day)), seconds=draw(st.integers(0, 86_399)))
    return span if draw(whole_seconds) else span + timedelta(milliseconds=draw(st.integers(0, 999)))


@st.composite
def scenarios(draw) -> Scenario:
    calendars = []
    for index in range(draw(st.integers(1, 3))):
        zone = draw(st.sampled_from(ZONES))
        calendars.append({"name": f"calendar {index}", "timezone": zone, "rows": draw(week_rows() | shift_rows())})
    zone = calendars[0]["timezone"]
    around = draw(st.sampled_from(TRANSITIONS[zone])) if TRANSITIONS[zone] and draw(st.booleans()) else \
        FIRST_DAY + timedelta(days=draw(st.integers(0, (LAST_DAY - FIRST_DAY).days)))
    for calendar in calendars:
        calendar["holidays"] = sorted(draw(st.sets(st.integers(-4, 6).map(lambda d: around + timedelta(days=d)), max_size=3)))
    teams = [f"team {i}" for i in range(len(calendars))] + ["walk-in"]  # walk-in: no calendar, calendar time
    rows = []
    for index in range(draw(st.integers(5, 25))):
        started = datetime.combine(around, time()) + draw(spans(-2, 2, whole_seconds=st.booleans()))
        reply_ms = draw(st.none() | spans(0, 2).map(lambda span: max(1, span // timedelta(milliseconds=1))))
        waited = draw(spans(0, 2)) - timedelta(hours=draw(st.sampled_from([0, 0, 0, 1])))  # now and then, an end before the start
        ended = draw(st.booleans())
        rows.append({
            "conversation_id": f"c{index:03d}", "partition_date": started.date(), "started_at": started,
            "ended_at": started + waited if ended else None, "state": "closed" if ended else "active",
            "team_name": draw(st.sampled_from(teams)), "first_reply_ms": reply_ms,
            "fetched_at": started + waited + timedelta(seconds=draw(st.integers(0, 600))),
        })
    facts = pd.DataFrame(rows).reindex(columns=list(FACT_COLUMNS))
    return Scenario(calendars, facts.astype({"first_reply_ms": "Int64", "duration_ms": "Int64"}))


def seed_tables(scenario: Scenario) -> dict[str, pd.DataFrame]:
    policies = [{"team_name": "*", "first_reply_target_s": 300.0, "attainment_goal": 0.8, "calendar": None}]
    policies += [{"team_name": f"team {i}", "first_reply_target_s": 300.0, "attainment_goal": 0.8, "calendar": c["name"]}
                 for i, c in enumerate(scenario.calendars)]
    hours = [{"calendar": c["name"], "timezone": c["timezone"], **row} for c in scenario.calendars for row in c["rows"]]
    holidays = [{"calendar": c["name"], "date": day.isoformat()} for c in scenario.calendars for day in c["holidays"]]
    return {
        "sla_policies": pd.DataFrame(policies, columns=list(SEED_COLUMNS["sla_policies"])),
        "sla_calendars": pd.DataFrame(hours, columns=list(SEED_COLUMNS["sla_calendars"])),
        "sla_holidays": pd.DataFrame(holidays, columns=list(SEED_COLUMNS["sla_holidays"])),
    }


def expected_seconds(scenario: Scenario) -> pd.DataFrame:
    """Per conversation, first_reply_s and elapsed_s on its policy's clock, by brute force."""
    clocks = {f"team {i}": c for i, c in enumerate(scenario.calendars)}
    minutes = {}
    for calendar in scenario.calendars:
        first, last = min(scenario.facts["started_at"]).date() - timedelta(days=3), max(scenario.facts["fetched_at"]).date() + timedelta(days=7)
        minutes[calendar["name"]] = open_minutes(calendar["rows"], set(calendar["holidays"]), calendar["timezone"], first, last)
    rows = []
    for fact in scenario.facts.itertuples():
        stop = fact.ended_at if pd.notna(fact.ended_at) else fact.fetched_at
        replied_at = None if pd.isna(fact.first_reply_ms) else fact.started_at + timedelta(milliseconds=int(fact.first_reply_ms))
        calendar = clocks.get(fact.team_name)
        if calendar is None:
            reply_s = None if replied_at is None else int(fact.first_reply_ms) / 1000
            elapsed_s = (stop - fact.started_at).total_seconds()
        else:
            open_at = minutes[calendar["name"]]
            reply_s = None if replied_at is None else brute_force_seconds(open_at, fact.started_at, replied_at)
            elapsed_s = brute_force_seconds(open_at, fact.started_at, stop)
        rows.append({"conversation_id": fact.conversation_id, "first_reply_s": reply_s, "elapsed_s": elapsed_s})
    return pd.DataFrame(rows, columns=["conversation_id", "first_reply_s", "elapsed_s"]).astype(
        {"first_reply_s": "float64", "elapsed_s": "float64"})


def assert_seconds_agree(actual: pd.DataFrame, expected: pd.DataFrame, scenario: Scenario, what: str) -> None:
    actual = actual.sort_values("conversation_id", ignore_index=True)
    assert list(actual["conversation_id"]) == list(expected["conversation_id"])
    for column in ["first_reply_s", "elapsed_s"]:
        got, want = pd.to_numeric(actual[column]).astype("float64"), expected[column]
        differs = ~((got - want).abs() <= 0.001) & ~(got.isna() & want.isna())
        assert not differs.any(), (
            f"{what} {column} differs from the brute force:\n"
            f"{pd.concat([actual.loc[differs, 'conversation_id'], got[differs], want[differs]], axis=1)}\n"
            f"facts:\n{scenario.facts[differs.to_numpy()].to_string()}\ncalendars: {json.dumps(scenario.calendars, default=str)}"
        )


# ------------------------------------------------------------------------ the model's own SQL


def compiled_conversation_sla(url: str, workdir: Path) -> str:
    """conversation_sla as dbt compiles it for a first build (no window, no existing table) on `url`."""
    with pytest.MonkeyPatch.context() as environment:
        for name in ("JELOU_SLA_EXTRA_HOLIDAYS", *WINDOW_ENV.values()):
            environment.delenv(name, raising=False)
        Warehouse(url, workdir).dbt("compile", "--select", "conversation_sla")
    return (workdir / "target" / "compiled" / "jelou_sla" / "models" / "conversations" / "conversation_sla.sql").read_text()


def create_tables_sql() -> list[str]:
    statements = ["create schema if not exists jelou"]
    for table, columns in {"conversation_facts": FACT_COLUMNS, **SEED_COLUMNS}.items():
        statements.append(f"create table jelou.{table} ({', '.join(f'{c} {t}' for c, t in columns.items())})")
    return statements


class DuckDBRunner:
    def __init__(self, workdir: Path):
        # the compiled SQL names the catalog after the file
        url = f"duckdb:///{workdir / 'clock.duckdb'}"
        self.sql = compiled_conversation_sla(url, workdir)
        self.connection = duckdb.connect(str(workdir / "clock.duckdb"))
        for statement in create_tables_sql():
            self.connection.execute(statement)

    def run(self, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
        for table, frame in tables.items():
            self.connection.execute(f"delete from jelou.{table}")
            self.connection.register("incoming", frame)
            self.connection.execute(f"insert into jelou.{table} by name select * from incoming")
            self.connection.unregister("incoming")
        return self.connection.execute(self.sql).df()


class PostgresRunner:
    def __init__(self, url: str, workdir: Path):
        self.sql = compiled_conversation_sla(url, workdir)
        self.connection = psycopg.connect(sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False),
                                          autocommit=True)
        for statement in create_tables_sql():
            self.connection.execute(statement)

    def run(self, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
        with self.connection.cursor() as cursor:
            for table, frame in tables.items():
                cursor.execute(f"delete from jelou.{table}")
                records = frame.astype(object).where(frame.notna(), None).itertuples(index=False, name=None)
                with cursor.copy(f"copy jelou.{table} ({', '.join(frame.columns)}) from stdin") as copy:
                    for record in records:
                        copy.write_row(record)
            cursor.execute(self.sql)
            return pd.DataFrame(cursor.fetchall(), columns=[column.name for column in cursor.description])


@pytest.fixture(scope="module")
def clock_postgres_url() -> Iterator[str]:
    """A database of this module's own: other modules' tests reset schema `jelou` of the shared one."""
    with private_database("jelou_clock_test") as url:
        yield url


@pytest.fixture(scope="module", params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def clock_sql(request, tmp_path_factory):
    workdir = tmp_path_factory.mktemp(f"clock_{request.param}")
    if request.param == "duckdb":
        runner = DuckDBRunner(workdir)
    else:
        runner = PostgresRunner(request.getfixturevalue("clock_postgres_url"), workdir)
    yield runner
    runner.connection.close()


# ----------------------------------------------------------------------------------------- tests


def test_the_brute_force_counts_a_night_a_weekend_and_a_holiday_by_hand():
    """Pin the brute force itself: Guayaquil (UTC-5, no DST), open 08:00-18:00 Monday to Friday."""
    rows = [{"weekday": str(d), "opens": "08:00", "closes": "18:00"} for d in range(1, 6)]
    minutes = open_minutes(rows, {date(2025, 3, 4)}, "America/Guayaquil", date(2025, 2, 26), date(2025, 3, 12))
    utc = lambda *fields: datetime(*fields) + timedelta(hours=5)  # noqa: E731 - local Guayaquil time to naive UTC
    assert brute_force_seconds(minutes, utc(2025, 2, 27, 23, 0), utc(2025, 2, 28, 8, 5)) == 300  # 23:00 -> 08:05
    assert brute_force_seconds(minutes, utc(2025, 2, 28, 17, 59, 30), utc(2025, 3, 3, 8, 0, 30)) == 60  # Friday -> Monday
    assert brute_force_seconds(minutes, utc(2025, 3, 3, 17, 0), utc(2025, 3, 5, 9, 0)) == 7200  # Tuesday 4th closed
    assert brute_force_seconds(minutes, utc(2025, 3, 5, 9, 0), utc(2025, 3, 3, 17, 0)) == -7200


def test_the_brute_force_follows_a_dst_change():
    """Berlin went from 02:00 to 03:00 on 30 March 2025 and back from 03:00 to 02:00 on 26 October 2025: a calendar
    open 00:00-06:00 every day is open 5 hours on the first day and 7 on the second."""
    rows = [{"weekday": str(d), "opens": "00:00", "closes": "06:00"} for d in range(1, 8)]
    for day, hours in [(date(2025, 3, 30), 5), (date(2025, 10, 26), 7), (date(2025, 10, 27), 6)]:
        minutes = open_minutes(rows, set(), "Europe/Berlin", day, day)
        assert len(minutes) == hours * 60, day


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(scenario=scenarios())
def test_business_seconds_of_the_model_equal_a_minute_by_minute_count(clock_sql, scenario):
    actual = clock_sql.run({"conversation_facts": scenario.facts, **seed_tables(scenario)})
    assert_seconds_agree(actual[["conversation_id", "first_reply_s", "elapsed_s"]], expected_seconds(scenario), scenario, "SQL")
    clocks = dict(zip(actual["conversation_id"], actual["sla_clock"]))
    teams = dict(zip(scenario.facts["conversation_id"], scenario.facts["team_name"]))
    assert all(clocks[c] == ("calendar" if teams[c] == "walk-in" else f"calendar {teams[c][-1]}") for c in clocks)


@settings(max_examples=30, deadline=None)
@given(scenario=scenarios())
def test_the_reference_counts_business_seconds_like_the_brute_force(scenario):
    from jelou_assets_tests.support.sla_reference import reference_conversation_sla

    tables = seed_tables(scenario)
    reference = reference_conversation_sla(scenario.facts, tables["sla_policies"],
                                           Calendars(tables["sla_calendars"], tables["sla_holidays"]))
    assert_seconds_agree(reference[["conversation_id", "first_reply_s", "elapsed_s"]], expected_seconds(scenario), scenario,
                         "reference")
