"""`make demo`: the bundled emulator, the last 7 days materialized through Dagster's CLI, the tables printed.

Soporte keeps office hours in the emulator and in dbt_project/seeds (calendar Oficina Quito, 08:00-18:00
Monday to Friday); the demo closes the office one weekday of its week too, in the emulator and for dbt
(JELOU_SLA_EXTRA_HOLIDAYS), so the tables show the business clock next to the calendar clock."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from jelou_assets.emulator import JelouEmulator
from jelou_assets.settings import PROJECT_ROOT, Settings
from jelou_assets.warehouse.resource import WarehouseResource

DEMO_DAYS = 7
OFFICE_CALENDAR = "Oficina Quito"  # Soporte's calendar in dbt_project/seeds/sla_policies.csv
# What the demo shows of Dagster's log: each step's per-day progress line, step outcomes, the run's end.
PROGRESS = re.compile(r" - (?P<step>[a-z_]+) - (?P<message>\d{4}-\d{2}-\d{2} \(\d+/\d+\): .*)$")
OUTCOME = re.compile(r" - (?P<step>[a-z_0-9]+) - (?P<event>STEP_SUCCESS|STEP_FAILURE|RUN_SUCCESS|RUN_FAILURE) - ")


def office_holiday(first: date, last: date) -> date:
    """The weekday in the middle of the demo's days: the office is closed that day."""
    days = [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
    weekdays = [day for day in days if day.isoweekday() <= 5]
    return weekdays[len(weekdays) // 2]


def demo_environment(emulator_url: str, holiday: date) -> dict[str, str]:
    """The demo talks to the emulator with its credentials; everything else keeps the user's settings."""
    return {
        **os.environ,
        "JELOU_SLA_EXTRA_HOLIDAYS": f"{OFFICE_CALENDAR}={holiday.isoformat()}",
        "JELOU_BASE_URL": emulator_url,
        "JELOU_CLIENT_ID": "demo",
        "JELOU_CLIENT_SECRET": "demo-secret",
        "JELOU_REQUESTS_PER_SECOND": os.environ.get("JELOU_REQUESTS_PER_SECOND", "50"),
        "DAGSTER_HOME": os.environ.get("DAGSTER_HOME", str(PROJECT_ROOT / ".dagster_home")),
        # dg runs the project in the environment it was installed in, which need not be activated.
        "VIRTUAL_ENV": str(Path(sys.executable).parent.parent),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }


def run_quietly(command: list[str], environment: dict[str, str], log_path: Path) -> int:
    """Run the Dagster CLI with its whole log in `log_path`, printing one line per step and day."""
    with log_path.open("w") as log, subprocess.Popen(
        command, cwd=PROJECT_ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        for line in process.stdout:
            log.write(line)
            if progress := PROGRESS.search(line):
                print(f"  {progress['step']}: {progress['message']}", flush=True)
            elif outcome := OUTCOME.search(line):
                event = outcome["event"]
                print(f"  {'run' if event.startswith('RUN') else outcome['step']}: "
                      f"{'done' if event.endswith('SUCCESS') else 'FAILED'}", flush=True)
    print(f"full Dagster log: {log_path}")
    return process.returncode


def print_table(warehouse: WarehouseResource, title: str, query: str, params: dict) -> None:
    frame = warehouse.read_frame(sa.text(query), params)
    print(f"\n== {title} ({len(frame)} rows) ==")
    print(frame.to_string(index=False, max_colwidth=24) if len(frame) else "(empty)")


def main() -> int:
    settings = Settings.from_env()
    yesterday = datetime.now(ZoneInfo(settings.timezone)).date() - timedelta(days=1)
    first = yesterday - timedelta(days=DEMO_DAYS - 1)
    holiday = office_holiday(first, yesterday)
    with JelouEmulator(per_day=300, timezone=settings.timezone, response_timezone=settings.response_timezone,
                       office_holidays=(holiday,)) as emu:
        environment = demo_environment(emu.url, holiday)
        Path(environment["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
        print(f"emulator on {emu.url}; materializing {first}...{yesterday} with `dg launch`")
        print(f"Soporte works office hours ({OFFICE_CALENDAR}: 08:00-18:00 Monday to Friday), closed on {holiday} "
              f"for the demo: its SLA runs on business seconds (clock), the calendar p90 shows the real wait")
        command = [str(Path(sys.executable).parent / "dg"), "launch", "--assets", "*",
                   "--partition-range", f"{first}...{yesterday}"]
        log_path = Path(environment["DAGSTER_HOME"]) / "demo-dagster.log"
        returncode = run_quietly(command, environment, log_path)
        if returncode != 0:
            print(f"the demo run failed; the error is at the end of {log_path}", file=sys.stderr)
            return returncode
    warehouse = WarehouseResource(url=settings.warehouse_url)
    window = {"first": first, "last": yesterday}
    print_table(
        warehouse,
        "team_sla_daily (attainment = met / (met + breached); p50/p90 over replied conversations, on the clock's "
        "seconds; calendar_p90_s on the calendar clock)",
        "SELECT partition_date, team_name, sla_clock AS clock, conversations, met, breached_conversations AS breached_n, "
        "unanswered, pending, excluded, round(reply_rate, 3) AS reply_rate, "
        "round(sla_attainment, 3) AS attainment, attainment_goal AS goal, breached, "
        "round(first_reply_p50_s, 1) AS replied_p50_s, round(first_reply_p90_s, 1) AS replied_p90_s, "
        "round(first_reply_calendar_p90_s, 1) AS calendar_p90_s, "
        "sla_target_s AS target_s FROM jelou.team_sla_daily WHERE partition_date BETWEEN :first AND :last "
        "ORDER BY partition_date, team_name",
        window,
    )
    print_table(
        warehouse,
        "team_sla_weekly (weeks from Monday; the current one holds the days loaded so far)",
        "SELECT period_start, period_end, team_name, sla_clock AS clock, conversations, met, "
        "breached_conversations AS breached_n, unanswered, pending, excluded, round(sla_attainment, 3) AS attainment, "
        "breached, round(first_reply_p90_s, 1) AS replied_p90_s, round(first_reply_calendar_p90_s, 1) AS calendar_p90_s "
        "FROM jelou.team_sla_weekly "
        "WHERE period_end >= :first AND period_start <= :last ORDER BY period_start, team_name",
        window,
    )
    print_table(
        warehouse,
        "operator_sla_daily, lowest attainment first (top 15)",
        "SELECT partition_date, team_name, operator_name, conversations, met, breached_conversations AS breached_n, "
        "unanswered, round(sla_attainment, 3) AS attainment, breached, round(first_reply_p90_s, 1) AS replied_p90_s "
        "FROM jelou.operator_sla_daily WHERE partition_date BETWEEN :first AND :last "
        "ORDER BY sla_attainment NULLS LAST, partition_date, team_name, operator_name LIMIT 15",
        window,
    )
    print(f"\nwarehouse: {warehouse.display_url}")
    print("open the same pipeline in the Dagster UI with `make dev` (emulator + dagster dev on http://127.0.0.1:3000)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
