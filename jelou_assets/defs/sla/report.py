"""`sla_report`: one self-contained HTML page per week for a support lead, linked from each day's partition.

The page needs no server and no network: the charts are matplotlib SVG inlined in the HTML. A run
rebuilds the page of every week holding one of its days, from the marts as they are after the run.
"""

import html
import io
import os
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
import sqlalchemy as sa

from jelou_assets.partitions import daily_asset_partitioning, daily_partitions, partition_days
from jelou_assets.settings import Settings
from jelou_assets.warehouse.resource import WarehouseResource

if TYPE_CHECKING:
    import pandas as pd

TEAM_DAYS = sa.text(
    "SELECT partition_date, team_name, conversations, met, breached_conversations, unanswered, sla_attainment, "
    "attainment_goal, first_reply_p90_s, sla_target_s, breached FROM jelou.team_sla_daily "
    "WHERE partition_date BETWEEN :first AND :last ORDER BY partition_date, team_name"
)
WORST_OPERATORS = sa.text(
    "SELECT team_name, operator_name, sum(conversations) AS conversations, sum(met) AS met, "
    "sum(breached_conversations) AS breached, sum(unanswered) AS unanswered FROM jelou.operator_sla_daily "
    "WHERE partition_date BETWEEN :first AND :last GROUP BY team_name, operator_name "
    "HAVING sum(met) + sum(breached_conversations) > 0 "
    "ORDER BY cast(sum(met) AS double precision) / (sum(met) + sum(breached_conversations)), team_name, operator_name "
    "LIMIT 10"
)
STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem;color:#222}"
    "table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #ccc;padding:.25rem .6rem;"
    "text-align:right}td:first-child,th:first-child{text-align:left}"
)


def week_of(day: date) -> tuple[date, date]:
    """Monday and Sunday of the week holding `day`, as the weekly rollups count weeks."""
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def _chart(frame: "pd.DataFrame", value: str, reference: str, title: str, ylabel: str) -> str:
    """One line per team over the week's days, its goal or target dashed in the same colour; SVG text."""
    # A Figure of its own rather than pyplot: no global figure state to leak or GUI backend to choose on a
    # server (matplotlib's advice for web servers).
    import pandas as pd
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 3.6))
    axes = figure.subplots()
    for number, (team, rows) in enumerate(frame.groupby("team_name", sort=True)):
        colour = f"C{number % 10}"
        days = pd.to_datetime(rows["partition_date"])
        axes.plot(days, rows[value], marker="o", color=colour, label=team)
        axes.plot(days, rows[reference], linestyle="--", color=colour, linewidth=1)
    axes.set_title(title)
    axes.set_ylabel(ylabel)
    axes.legend(loc="center left", bbox_to_anchor=(1, 0.5), fontsize="small")
    figure.autofmt_xdate()
    figure.tight_layout()
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg")
    return buffer.getvalue()[buffer.getvalue().index("<svg"):]


def _table(headers: list[str], rows: list[list[object]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>" if rows else "<p>none</p>"


def _share(numerator: float, denominator: float) -> str:
    return f"{numerator / denominator:.1%}" if denominator else "–"


def render_week(team_days: "pd.DataFrame", operators: "pd.DataFrame", monday: date, sunday: date) -> str:
    """The week's page: trends against goals, the breached team-days, the worst operators, the unanswered share."""
    title = f"SLA report, week of {monday.isoformat()} to {sunday.isoformat()}"
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
             f"<style>{STYLE}</style></head><body><h1>{title}</h1>"]
    if team_days.empty:
        parts.append("<p>No SLA rows for this week yet.</p>")
    else:
        parts.append("<h2>Attainment per team (dashed: its goal)</h2>")
        parts.append(_chart(team_days, "sla_attainment", "attainment_goal", "met / (met + breached)", "attainment"))
        parts.append("<h2>First-reply p90 per team (dashed: its target)</h2>")
        parts.append(_chart(team_days, "first_reply_p90_s", "sla_target_s", "replied conversations, p90", "seconds"))
        breached = team_days[team_days["breached"].astype(bool)]
        parts.append(f"<h2>Breached team-days ({len(breached)})</h2>")
        parts.append(_table(
            ["day", "team", "attainment", "goal", "met", "breached", "unanswered", "conversations"],
            [[str(r.partition_date)[:10], r.team_name, f"{r.sla_attainment:.1%}", f"{r.attainment_goal:.0%}",
              int(r.met), int(r.breached_conversations), int(r.unanswered), int(r.conversations)]
             for r in breached.itertuples()],
        ))
        totals = team_days.groupby("team_name", sort=True)[["conversations", "unanswered", "met", "breached_conversations"]].sum()
        parts.append("<h2>The week per team</h2>")
        parts.append(_table(
            ["team", "conversations", "unanswered", "unanswered share", "attainment"],
            [[team, int(t.conversations), int(t.unanswered), _share(t.unanswered, t.conversations),
              _share(t.met, t.met + t.breached_conversations)] for team, t in totals.iterrows()],
        ))
    parts.append("<h2>Lowest-attaining operators</h2>")
    parts.append(_table(
        ["team", "operator", "attainment", "met", "breached", "unanswered", "conversations"],
        [[r.team_name, r.operator_name, _share(r.met, r.met + r.breached), int(r.met), int(r.breached),
          int(r.unanswered), int(r.conversations)] for r in operators.itertuples()],
    ))
    parts.append("</body></html>")
    return "\n".join(parts)


def write_week(warehouse: WarehouseResource, directory: Path, monday: date) -> Path:
    """Render and write the week's page; a reader never sees half a file."""
    monday, sunday = week_of(monday)
    window = {"first": monday, "last": sunday}
    page = render_week(warehouse.read_frame(TEAM_DAYS, window), warehouse.read_frame(WORST_OPERATORS, window),
                       monday, sunday)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"sla-week-{monday.isoformat()}.html"
    incoming = path.with_name(f".{path.name}.{os.getpid()}")
    incoming.write_text(page, encoding="utf-8")
    incoming.replace(path)
    return path


def sla_report_asset(partitions: dg.DailyPartitionsDefinition, directory: Path) -> dg.AssetsDefinition:
    """The report asset writing its pages under `directory` (JELOU_REPORTS_DIR)."""

    @dg.asset(
        deps=[dg.AssetKey("team_sla_daily"), dg.AssetKey("operator_sla_daily")],
        **daily_asset_partitioning(partitions),
        kinds={"python", "html"},
    )
    def sla_report(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        """A self-contained HTML page per week (JELOU_REPORTS_DIR): each team's attainment and p90 against its
        goal, the breached team-days, the lowest-attaining operators, the unanswered share."""
        days = partition_days(context.partition_keys)
        pages = {monday: write_week(warehouse, directory, monday) for monday in sorted({week_of(d)[0] for d in days})}
        for day in days:
            page = pages[week_of(day)[0]]
            context.add_asset_metadata({"report": dg.MetadataValue.path(str(page))}, partition_key=day.isoformat())
        context.log.info(f"wrote {len(pages)} weekly report(s): {', '.join(str(p) for p in pages.values())}")
        return dg.MaterializeResult()

    return sla_report


@dg.definitions
def defs() -> dg.Definitions:
    settings = Settings.from_env()
    return dg.Definitions(assets=[sla_report_asset(daily_partitions(settings), settings.reports_dir)])
