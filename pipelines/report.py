"""`report.html`: the publication's offline SPC report, one self-contained file.

Board summary first (every series with its Making Data Count icons, sortable), then each commitment
with its projects and one SPC chart per series, and the publication's checks in the footer. plotly's
JavaScript is inlined once; each chart is a small JSON figure drawn by one loop in the page, so the file
opens with no network. Only the published marts and dimensions are read (see `report_data`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import jinja2
from markupsafe import Markup
from plotly.offline import get_plotlyjs

from pipelines import report_icons
from pipelines.files import replace_text
from pipelines.publication import check_counts
from pipelines.report_charts import Marker, spc_figure
from pipelines.report_data import ReportData, Row, load
from pipelines.report_layout import OPEN_GROUP_MAX, CommitmentPlace, SeriesPlace, arrange

TEMPLATES = Path(__file__).resolve().parent / "templates"
HASH = re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{64}(?![0-9a-fA-F])")
UNIT_SUFFIX = {"percent": "%", "days": " days", "minutes": " min", "count": ""}


def number(value: float | None, unit: str | None = None) -> str:
    if value is None:
        return "–"
    text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return text + UNIT_SUFFIX.get(unit or "", f" {unit}" if unit else "")


def month(value: dt.date | None) -> str:
    return value.strftime("%b %Y") if value else "–"


def sortkey(value: object) -> str:
    """What the board sorts a cell by: blank for a missing value (sorted last)."""
    return "" if value is None else str(value)


def _remeasure_label(kind: str) -> str:
    return "re-measure" if kind == "recorded" else f"re-measure ({kind})"


def _markers(place: SeriesPlace, data: ReportData) -> list[Marker]:
    """The project dates drawn on a project's series: its intervention and every re-measure."""
    markers = []
    for project_id in place.project_ids:
        project = data.projects[project_id]
        if project["intervention_date"]:
            markers.append(Marker(project["intervention_date"], "intervention", "intervention"))
        remeasures = data.remeasures.get(project_id, [])
        markers += [Marker(r["remeasure_date"], _remeasure_label(r["remeasure"]), "remeasure") for r in remeasures]
        if not remeasures and project["remeasure_dates"]:
            markers += [Marker(dt.date.fromisoformat(d), "re-measure", "remeasure")
                        for d in project["remeasure_dates"].split()]
    return markers


def _points(place: SeriesPlace, data: ReportData) -> list[Row]:
    summary = place.summary
    points = data.points.get((summary["metric_id"], summary["series_key"]))
    if points:
        return points
    # The summary is built from the SPC mart, so this only guards a hand-edited publication.
    return [{"period_month": summary["latest_period_month"], "value": summary["latest_value"],
             "target": summary["target"], "mean": None, "upl": None, "lpl": None, "segment_id": 1,
             "is_trial_limits": True, "point_type": "common_cause", "starts_rebased_segment": False}]


def _figures(sections: list[CommitmentPlace], data: ReportData) -> dict[str, dict]:
    figures = {}
    for section in sections:
        for metric in section.metrics:
            for place, compact in [*((p, False) for p in metric.lead),
                                   *((p, True) for _, group in metric.groups for p in group)]:
                figures[f"chart-{place.index}"] = spc_figure(_points(place, data), _markers(place, data),
                                                             place.summary["unit"] or "", compact=compact)
    return figures


def check_results(manifest: dict) -> dict:
    """The footer's checks: counts, and the failed ones with a short description (never a hash-like token)."""
    checks = manifest.get("checks") or []
    failing = [{**c, "description": HASH.sub("[hash]", str(c.get("description") or ""))[:300]}
               for c in checks if not c.get("passed")]
    # a warning does not block publication (a published run has no other failure): counted as the run summary does
    passed, warned, failed = check_counts(checks)
    return {"total": len(checks), "passed": passed, "failing": failing, "warned": warned, "failed": failed}


def _script_json(value: object) -> str:
    """JSON safe inside a <script> element: '</' cannot close it."""
    return json.dumps(value, separators=(",", ":"), default=str).replace("</", "<\\/").replace("<!--", "<\\!--")


def render(data: ReportData, manifest: dict) -> tuple[str, int]:
    """The report's HTML and the number of charts in it."""
    sections = arrange(data)
    figures = _figures(sections, data)
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                                     undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    environment.filters.update(number=number, month=month, sortkey=sortkey)
    environment.globals.update(icons=report_icons)
    board = [place for section in sections for place in section.series()]
    html = environment.get_template("report.html.j2").render(
        sections=sections, data=data, manifest=manifest, checks=check_results(manifest), board=board,
        series_places={(p.summary["metric_id"], p.summary["series_key"]): p for p in board},
        open_group_max=OPEN_GROUP_MAX,
        charts_json=Markup(_script_json(figures)),
        plotly_js=Markup(get_plotlyjs()), style=Markup((TEMPLATES / "report.css").read_text()),
        script=Markup((TEMPLATES / "report.js").read_text()))
    return html, len(figures)


def build_report(database: Path, manifest: dict, output: Path) -> int:
    """Write the publication's report.html from its kpo.duckdb; returns the number of charts written."""
    html, charts = render(load(database), manifest)
    replace_text(output, html)
    return charts
