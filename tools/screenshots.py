"""`make screenshots`: the PNGs in docs/screens/, taken from a real `dagster dev` and the weekly report.

A week is materialized against the emulator as a backfill would (Monday to Saturday in one run) and its
Sunday alone as the daily schedule would, then the pages a lead opens are shot in headless chromium
at 1280x900 (`browser.py`, the tests' setup) and stored with a 256-colour palette to stay small.
"""

from __future__ import annotations

import argparse
import re
import tempfile
from pathlib import Path

from PIL import Image
from playwright.sync_api import Page, expect

from jelou_assets.settings import PROJECT_ROOT
from jelou_assets_tests.support.browser import VIEWPORT, headless_chromium
from jelou_assets_tests.support.dagster_ui import DagsterUI, dagster_ui

BACKFILL, DAY = "2025-03-03...2025-03-08", "2025-03-09"
WEEK_REPORT = "sla-week-2025-03-03.html"
OUT_DIR = PROJECT_ROOT / "docs" / "screens"
TIMEOUT_MS = 60_000


def save(page: Page, path: Path) -> None:
    page.screenshot(path=path)
    Image.open(path).convert("RGB").quantize(colors=256).save(path, optimize=True)
    print(f"{path.relative_to(PROJECT_ROOT)}: {path.stat().st_size // 1024} KiB")


def without_navigation(page: Page) -> None:
    """The UI's own "Hide navigation": the day's team table then fits the width unclipped."""
    page.get_by_role("button", name="Hide navigation").click()


def team_table(page: Page, ui: DagsterUI, out: Path) -> None:
    page.goto(f"{ui.url}/assets/team_sla_daily?view=events&partition={DAY}")
    without_navigation(page)
    expect(page.locator("th", has_text=re.compile(r"^p90_s$"))).to_be_visible()
    # The day's headline numbers at the top, then the table and each team's plottable attainment.
    page.get_by_text("teams_breached", exact=True).evaluate("label => label.scrollIntoView({block: 'start'})")
    expect(page.get_by_text(re.compile(r"^Loading"))).to_have_count(0)
    save(page, out / "team_sla_daily_partition.png")


def goal_check(page: Page, ui: DagsterUI, out: Path) -> None:
    page.goto(f"{ui.url}/assets/team_sla_daily?view=checks&checkDetail=sla_attainment_meets_goal")
    expect(page.get_by_text("Latest execution", exact=True)).to_be_visible()
    expect(page.get_by_text(re.compile(r"^(breached: |every team met)"))).to_be_visible()
    save(page, out / "team_sla_daily_checks.png")


def weekly_report(page: Page, ui: DagsterUI, out: Path) -> None:
    page.goto((ui.reports_dir / WEEK_REPORT).as_uri())
    expect(page.locator("svg").first).to_be_visible()
    save(page, out / "sla_report.png")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.screenshots", description=__doc__)
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    out = parser.parse_args(argv).out
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, dagster_ui(Path(tmp), [BACKFILL, DAY]) as ui, headless_chromium() as browser:
        context = browser.new_context(viewport=VIEWPORT)
        context.set_default_timeout(TIMEOUT_MS)
        expect.set_options(timeout=TIMEOUT_MS)
        page = context.new_page()
        for shoot in (team_table, goal_check, weekly_report):
            shoot(page, ui, out)
        context.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
