"""A 30-day single-run backfill against an API that fails every 7th request still stores exact data:
every day's raw rows equal the API's ground truth, facts match, and the marts equal an independent
computation; every failure shows up as a retry in `raw_partition_loads`."""

from __future__ import annotations

import time
from datetime import date, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa
from dagster import materialize

from jelou_assets.emulator import JelouEmulator
from jelou_assets_tests.support.project import conversation_facts, day_window, raw_conversations, sla_marts
from jelou_assets.sla.dbt_project import dbt_cli_resource
from jelou_assets_tests.support.emulated_api import facts_from_emulator, jelou_for
from jelou_assets_tests.support.sla_reference import (
    OPERATOR_GRAIN,
    TEAM_GRAIN,
    assert_mart_equal,
    normalise,
    reference_operator_sla,
    reference_team_sla,
)
from jelou_assets_tests.support.dbt_marts import CALENDARS, POLICIES, read_mart

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

DAYS = [date(2025, 3, 1) + timedelta(days=n) for n in range(30)]
PER_DAY = 120  # 3 pages of 50 per day: about 90 requests before retries
# Every 7th request the emulator sees fails, retries included, cycling through every transient fault.
FAULTS = ("500", "502", "503", "reset", "429")
FAULT_PLAN = {n: FAULTS[(n // 7 - 1) % len(FAULTS)] for n in range(7, 400, 7)}


def backfill(emu: JelouEmulator, warehouse):
    return materialize(
        [raw_conversations, conversation_facts, sla_marts],
        resources={
            "jelou": jelou_for(emu),
            "warehouse": warehouse,
            "dbt": dbt_cli_resource(),
        },
        tags={"dagster/asset_partition_range_start": DAYS[0].isoformat(),
              "dagster/asset_partition_range_end": DAYS[-1].isoformat()},
        raise_on_error=False,
    )


def test_thirty_day_backfill_with_every_seventh_request_failing_stores_exact_data(warehouse):
    with JelouEmulator(per_day=PER_DAY, seed=13) as emu:
        emu.config.fault_plan = dict(FAULT_PLAN)
        began = time.monotonic()
        result = backfill(emu, warehouse)
        seconds = time.monotonic() - began
        assert result.success
        log = emu.requests
        truth = {day: sorted(r["_id"] for r in emu.dataset.conversations_between(*day_window(day))) for day in DAYS}
        reference_facts = facts_from_emulator(emu, [day.isoformat() for day in DAYS], warehouse)

    raw = warehouse.read_frame(sa.text("SELECT partition_date, conversation_id FROM jelou.raw_conversations"))
    raw["partition_date"] = pd.to_datetime(raw["partition_date"]).dt.date
    facts = warehouse.read_frame(sa.text("SELECT partition_date, count(*) AS n FROM jelou.conversation_facts GROUP BY 1"))
    facts_per_day = dict(zip(pd.to_datetime(facts["partition_date"]).dt.date, facts["n"]))
    for day in DAYS:
        assert sorted(raw.loc[raw["partition_date"] == day, "conversation_id"]) == truth[day], day
        assert facts_per_day[day] == len(truth[day]), day

    loads = warehouse.read_frame(sa.text("SELECT * FROM jelou.raw_partition_loads ORDER BY partition_date"))
    failed = [entry for entry in log if entry["fault"]]
    assert len(loads) == 30 and list(loads["api_total"]) == list(loads["stored_rows"])
    # The faults really hit, and each one cost exactly one retry, attributed to its day.
    assert len(failed) >= 12 and {entry["fault"] for entry in failed} == set(FAULTS)
    assert int(loads["requests"].sum()) == len(log)
    assert int(loads["retries"].sum()) == len(failed)
    print(f"\n30-day backfill: {len(log)} requests, {len(failed)} failed ({sorted({e['fault'] for e in failed})}), "
          f"retries {int(loads['retries'].sum())}, throttled {int(loads['throttled'].sum())}, "
          f"days with a retry {int((loads['retries'] > 0).sum())}, {seconds:.1f}s")

    assert_mart_equal(read_mart(warehouse, "team_sla_daily"),
                      normalise(reference_team_sla(reference_facts, POLICIES, CALENDARS), TEAM_GRAIN), TEAM_GRAIN)
    assert_mart_equal(read_mart(warehouse, "operator_sla_daily"),
                      normalise(reference_operator_sla(reference_facts, POLICIES, CALENDARS), OPERATOR_GRAIN), OPERATOR_GRAIN)
