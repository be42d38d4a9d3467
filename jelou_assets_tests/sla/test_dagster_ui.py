"""What a support lead sees in the Dagster UI, read in a real headless chromium from `dagster dev`.

One day is materialized end to end against the emulator (`dagster_ui.py`); the tests then open the
pages a lead opens and compare what is drawn with the warehouse and with the checks' own history.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect

from jelou_assets.warehouse.resource import WarehouseResource
from jelou_assets_tests.support.browser import CHROMIUM, VIEWPORT, headless_chromium
from jelou_assets_tests.support.dagster_ui import DagsterUI, dagster_ui

DAY = "2025-03-04"
# Every per-day Python check, partitioned by day like its asset.
PER_DAY_CHECKS = [
    ("raw_conversations", "stored_matches_api_total"),
    ("raw_conversations", "unique_conversation_ids"),
    ("conversation_facts", "matches_raw_conversations"),
    ("conversation_facts", "keys_not_null"),
    ("conversation_facts", "no_sanity_flags"),
    ("team_sla_daily", "sla_attainment_meets_goal"),
]
# A page waits this long for the UI's queries; the polls end as soon as the page shows what is awaited.
UI_TIMEOUT_MS = 60_000
expect.set_options(timeout=UI_TIMEOUT_MS)
CHECKS = """
query Checks($assetKey: AssetKeyInput!) {
  assetNodeOrError(assetKey: $assetKey) {
    ... on AssetNode {
      assetChecksOrError {
        ... on AssetChecks {
          checks {
            name description blocking
            partitionStatuses { ... on AssetCheckTimePartitionStatuses { ranges { startKey endKey status } } }
          }
        }
      }
    }
  }
}
"""
EXECUTIONS = """
query Executions($assetKey: AssetKeyInput!, $checkName: String!, $partition: String) {
  assetCheckExecutions(assetKey: $assetKey, checkName: $checkName, partition: $partition, limit: 5) {
    status evaluation { partition }
  }
}
"""

# The expensive part (dagster dev and a day's run) once per session, on one worker.
pytestmark = [pytest.mark.xdist_group("dagster_ui"), pytest.mark.slow]


@pytest.fixture(scope="session")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DagsterUI]:
    # The day's team_sla_daily and everything upstream of it, with their checks: what the tests read.
    with dagster_ui(tmp_path_factory.mktemp("dagster_ui"), [DAY], select="*team_sla_daily") as running:
        yield running


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if CHROMIUM is None:
        pytest.skip("no chromium (.ci/run installs Debian's)")
    with headless_chromium() as chromium:
        yield chromium


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(UI_TIMEOUT_MS)
    yield context.new_page()
    context.close()


def checks_of(ui: DagsterUI, asset: str) -> dict[str, dict]:
    node = ui.graphql(CHECKS, {"assetKey": {"path": [asset]}})["assetNodeOrError"]
    return {check["name"]: check for check in node["assetChecksOrError"]["checks"]}


def history_status(ui: DagsterUI, asset: str, check: str, partition: str) -> str:
    """The day's latest result in the check's Execution history."""
    executions = ui.graphql(EXECUTIONS, {"assetKey": {"path": [asset]}, "checkName": check, "partition": partition})
    [latest, *_] = executions["assetCheckExecutions"]
    assert latest["evaluation"]["partition"] == partition
    return latest["status"]


def team_rows(ui: DagsterUI) -> list[tuple[str, str, float]]:
    """(team, status, attainment) of the day in the warehouse, worst first as the table orders them."""
    frame = WarehouseResource(url=ui.warehouse_url).read_frame(sa.text(
        "SELECT team_name, breached, sla_attainment FROM jelou.team_sla_daily WHERE partition_date = :day"
    ), {"day": DAY})
    rows = [(r.team_name, "BREACHED" if r.breached else "ok", round(float(r.sla_attainment), 4)) for r in frame.itertuples()]
    return sorted(rows, key=lambda row: (row[1] != "BREACHED", row[2], row[0]))


def test_a_days_asset_page_shows_each_teams_attainment_worst_first_as_the_warehouse_has_it(ui, page):
    page.goto(f"{ui.url}/assets/team_sla_daily?view=events&partition={DAY}")
    expect(page.get_by_text(f"Partition {DAY} materialized in run", exact=False)).to_be_visible()
    table = page.locator("th", has_text=re.compile(r"^p90_s$")).locator("xpath=ancestor::table[1]")
    expect(table.locator("tbody tr").first).to_be_visible()
    header = table.locator("thead th").all_inner_texts()
    cells = table.evaluate("t => [...t.tBodies[0].rows].map(r => [...r.cells].map(c => c.innerText.trim()))")
    drawn = [dict(zip(header, row)) for row in cells]

    expected = team_rows(ui)
    assert len(expected) >= 3
    assert [(row["team"], row["status"], float(row["attainment"])) for row in drawn] == expected
    # Each team's attainment also stands alone, as the value the asset's plots follow across days.
    for team, _, attainment in expected:
        label = page.locator("tr", has=page.get_by_text(f"attainment / {team}", exact=True))
        assert float(label.locator("td").nth(1).inner_text()) == attainment


def test_a_one_day_run_shows_in_every_per_day_checks_partitions_status_as_its_history_says(ui):
    for asset, check in PER_DAY_CHECKS:
        ranges = checks_of(ui, asset)[check]["partitionStatuses"]["ranges"]
        status = history_status(ui, asset, check, DAY)
        assert status in ("SUCCEEDED", "FAILED"), (check, status)
        assert ranges == [{"startKey": DAY, "endKey": DAY, "status": status}], check


def test_the_goal_checks_partitions_tab_counts_the_day_it_judged(ui, page):
    failed = history_status(ui, "team_sla_daily", "sla_attainment_meets_goal", DAY) == "FAILED"
    page.goto(f"{ui.url}/assets/team_sla_daily?view=checks&checkDetail=sla_attainment_meets_goal")
    # The asset has a Partitions tab too: the check's own is beside its Execution history.
    check_tabs = page.get_by_role("tablist").filter(has=page.get_by_role("tab", name="Execution history"))
    check_tabs.get_by_role("tab", name="Partitions").click()
    selected = page.get_by_text(re.compile(r"^[\d,]+ Partitions Selected$"))
    expect(selected).to_be_visible()
    total = int(selected.inner_text().split()[0].replace(",", ""))
    expect(page.get_by_text(f"Failed ({int(failed)})", exact=True)).to_be_visible()
    expect(page.get_by_text(f"Passed ({int(not failed)})", exact=True)).to_be_visible()
    expect(page.get_by_text(f"Missing ({total - 1})", exact=True)).to_be_visible()


def test_every_check_of_team_sla_daily_says_what_it_checks(ui):
    checks = checks_of(ui, "team_sla_daily")
    assert sorted(checks) == [
        "freshness_check", "sla_attainment_meets_goal", "team_sla_daily_reconciles_with_facts",
        "team_sla_daily_row_rules", "team_sla_daily_row_rules_warn", "team_sla_daily_unique_grain",
    ]
    assert all(check["description"] for check in checks.values()), checks
    assert checks["team_sla_daily_reconciles_with_facts"]["blocking"]
    assert not checks["sla_attainment_meets_goal"]["blocking"]


@pytest.mark.parametrize(("check", "kind", "opening"), [
    ("team_sla_daily_reconciles_with_facts", "blocking", "Reconciliation with conversation_facts:"),
    ("sla_attainment_meets_goal", "non-blocking", "SLA goal:"),
])
def test_the_reconciliation_and_goal_checks_open_with_what_they_are(ui, page, check, kind, opening):
    page.goto(f"{ui.url}/assets/team_sla_daily?view=checks&checkDetail={check}")
    expect(page.get_by_text("Checks (6)", exact=True)).to_be_visible()
    expect(page.get_by_text(f"This is a {kind} asset check.", exact=False)).to_be_visible()
    expect(page.get_by_text(re.compile("^" + re.escape(opening)))).to_be_visible()
