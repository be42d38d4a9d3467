"""The weekly SLA report as a lead opens it: a file per week, linked from each day, drawn in a real browser."""

from __future__ import annotations

import re
import subprocess

import pytest
import sqlalchemy as sa
from dagster import AssetKey, AssetRecordsFilter, DagsterInstance, materialize
from PIL import Image

from jelou_assets.defs.sla.report import sla_report_asset
from jelou_assets_tests.support.project import PARTITIONS, conversation_facts, raw_conversations, sla_marts
from jelou_assets.sla.dbt_project import dbt_cli_resource
from jelou_assets_tests.support.browser import CHROMIUM
from jelou_assets_tests.support.emulated_api import jelou_for

# Thursday 27 February to Tuesday 4 March 2025: two weeks (Mondays 24 February and 3 March).
FIRST, LAST = "2025-02-27", "2025-03-04"


# One run serves every test here: the fixture is session-scoped and its tests stay on one worker.
pytestmark = pytest.mark.xdist_group("report")


@pytest.fixture(scope="session")
def reports(tmp_path_factory):
    """The report directory after one range run of every asset, the warehouse (DuckDB) and the instance."""
    from jelou_assets.emulator import JelouEmulator
    from jelou_assets.warehouse.resource import WarehouseResource

    root = tmp_path_factory.mktemp("report")
    warehouse = WarehouseResource(url=f"duckdb:///{root / 'warehouse.duckdb'}")
    warehouse.ensure_tables()
    instance = DagsterInstance.ephemeral()
    with JelouEmulator(per_day=120, seed=11) as emulator:
        result = materialize(
            [raw_conversations, conversation_facts, sla_marts, sla_report_asset(PARTITIONS, root / "reports")],
            resources={"jelou": jelou_for(emulator), "warehouse": warehouse,
                       "dbt": dbt_cli_resource()},
            tags={"dagster/asset_partition_range_start": FIRST, "dagster/asset_partition_range_end": LAST},
            instance=instance,
        )
    assert result.success
    yield root / "reports", warehouse, instance
    instance.dispose()


def test_a_range_run_writes_one_page_per_week_and_links_each_day_to_its_week(reports):
    directory, _, instance = reports
    assert sorted(p.name for p in directory.iterdir()) == ["sla-week-2025-02-24.html", "sla-week-2025-03-03.html"]
    records = instance.fetch_materializations(AssetRecordsFilter(asset_key=AssetKey("sla_report")), limit=20).records
    linked = {r.partition_key: r.asset_materialization.metadata["report"].value for r in records}
    assert set(linked) == {"2025-02-27", "2025-02-28", "2025-03-01", "2025-03-02", "2025-03-03", "2025-03-04"}
    for day, path in linked.items():
        monday = "2025-02-24" if day < "2025-03-03" else "2025-03-03"
        assert path == str(directory / f"sla-week-{monday}.html")


def test_the_page_lists_exactly_the_weeks_breached_team_days_and_every_team(reports):
    directory, warehouse, _ = reports
    page = (directory / "sla-week-2025-03-03.html").read_text()
    mart = warehouse.read_frame(sa.text(
        "SELECT partition_date, team_name, breached FROM jelou.team_sla_daily "
        "WHERE partition_date BETWEEN '2025-03-03' AND '2025-03-09'"))
    breached = mart[mart["breached"].astype(bool)]
    assert f"Breached team-days ({len(breached)})" in page
    for row in breached.itertuples():
        assert f"<td>{str(row.partition_date)[:10]}</td><td>{row.team_name}</td>" in page
    assert all(team in page for team in mart["team_name"])
    assert page.count("<svg") == 2 and "Lowest-attaining operators" in page


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium (.ci/run installs Debian's)")
def test_the_report_draws_its_charts_in_headless_chromium_without_console_errors(reports, tmp_path):
    directory, warehouse, _ = reports
    page = directory / "sla-week-2025-03-03.html"
    browser = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
               f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*browser, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    svgs = re.findall(r"<svg.*?</svg>", dom.stdout, re.S)
    assert len(svgs) == 2 and all(svg.count("<path") > 10 for svg in svgs)
    teams = warehouse.read_frame(sa.text("SELECT DISTINCT team_name FROM jelou.team_sla_daily"))["team_name"]
    assert all(team in svgs[0] for team in teams), "each team is in the chart's legend"
    assert "CONSOLE" not in dom.stderr and "Uncaught" not in dom.stderr, dom.stderr[-2000:]
    shot = tmp_path / "report.png"
    subprocess.run([*browser, "--window-size=1200,1600", f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    shades = Image.open(shot).convert("L").histogram()  # pixels per grey level, 0 (black) to 255
    drawn = sum(shades[:200]) / sum(shades)
    assert drawn > 0.01, f"only {drawn:.2%} of the screenshot is not blank"
