"""Where each series goes in the report: commitment → its projects → its metrics → their series.

A metric sits under its primary commitment (metrics of that commitment's projects first); a project card
appears under every commitment it serves. Within a metric the trust-wide series and any project's series
lead, the other series follow grouped by breakdown. Every series of `mart_metric_summary` is placed
exactly once — series whose metric has no known commitment (and projects serving none) go to a final
"Other metrics" section.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from pipelines.report_data import ReportData, Row

BREAKDOWN_TITLES = {"csu": "CSU", "site": "Site", "specialty": "Specialty", "course": "Course",
                    "staff_group": "Staff group"}
OTHER = {"commitment_id": None, "commitment_name": "Other metrics", "executive_lead": None,
         "description": "Metrics without a known primary commitment."}
OPEN_GROUP_MAX = 4  # a breakdown with this few series is shown open; bigger ones start collapsed


@dataclass
class SeriesPlace:
    index: int
    summary: Row
    label: str
    commitment_name: str
    project_ids: list[str]


@dataclass
class MetricPlace:
    metric: Row
    lead: list[SeriesPlace] = field(default_factory=list)
    groups: list[tuple[str, list[SeriesPlace]]] = field(default_factory=list)


@dataclass
class CommitmentPlace:
    commitment: Row
    project_ids: list[str]
    metrics: list[MetricPlace]

    def series(self) -> Iterator[SeriesPlace]:
        for metric in self.metrics:
            yield from metric.lead
            for _, group in metric.groups:
                yield from group


def series_label(summary: Row, data: ReportData) -> str:
    breakdown, value = summary["breakdown"], summary["breakdown_value"]
    if summary["is_trust_wide"] or breakdown == "trust":
        return "Trust-wide"
    if breakdown == "csu" and value in data.csu_names:
        return f"{data.csu_names[value]} ({value})"
    if breakdown == "site" and value in data.site_names:
        return f"{data.site_names[value]} ({value})"
    return f"{BREAKDOWN_TITLES.get(breakdown, breakdown or 'Series')}: {value}"


def _metric_order(metrics: list[Row], project_ids: list[str]) -> list[Row]:
    def key(metric: Row) -> tuple[int, int]:
        project = metric.get("project_id")
        if project in project_ids:
            return (0, project_ids.index(project))
        return (1, 0) if project else (2, 0)

    return sorted(metrics, key=key)


def _place_metric(metric: Row, series: list[Row], data: ReportData, commitment_name: str, counter: Iterator[int]
                  ) -> MetricPlace:
    place = MetricPlace(metric)

    def leads(row: Row) -> bool:
        return row["is_trust_wide"] or (row["metric_id"], row["series_key"]) in data.projects_by_series

    ordered = sorted(series, key=lambda r: (not r["is_trust_wide"], series_label(r, data)))
    groups: dict[str, list[SeriesPlace]] = {}
    for row in sorted(ordered, key=lambda r: not leads(r)):
        key = (row["metric_id"], row["series_key"])
        spot = SeriesPlace(next(counter), row, series_label(row, data), commitment_name,
                           data.projects_by_series.get(key, []))
        if leads(row):
            place.lead.append(spot)
        else:
            title = BREAKDOWN_TITLES.get(row["breakdown"], row["breakdown"] or "Other")
            groups.setdefault(title, []).append(spot)
    order = list(BREAKDOWN_TITLES.values())
    place.groups = sorted(groups.items(), key=lambda item: order.index(item[0]) if item[0] in order else len(order))
    return place


def arrange(data: ReportData) -> list[CommitmentPlace]:
    """The report's sections, in reading order; the series' `index` numbers them in that order."""
    series_by_metric: dict[str, list[Row]] = {}
    for row in data.series:
        series_by_metric.setdefault(row["metric_id"], []).append(row)
    known = {c["commitment_id"] for c in data.commitments}
    counter = iter(range(1, len(data.series) + 1))
    sections = []
    carded = {p for c in known for p in data.projects_by_commitment.get(c, [])}
    for commitment in [*data.commitments, OTHER]:
        cid = commitment["commitment_id"]
        if cid:
            project_ids = data.projects_by_commitment.get(cid, [])
            metrics = [m for m in data.metrics.values() if m["primary_commitment_id"] == cid]
        else:
            project_ids = [p for p in data.projects if p not in carded]
            metrics = [m for m in data.metrics.values() if m["primary_commitment_id"] not in known]
            metrics += [_metric_from_series(rows[0]) for mid, rows in series_by_metric.items()
                        if mid not in data.metrics]
        placed = [_place_metric(m, series_by_metric.get(m["metric_id"], []), data, commitment["commitment_name"],
                                counter) for m in _metric_order(metrics, project_ids)]
        if cid or project_ids or any(p.lead or p.groups for p in placed):
            sections.append(CommitmentPlace(commitment, project_ids, placed))
    return sections


def _metric_from_series(summary: Row) -> Row:
    return {"metric_id": summary["metric_id"], "metric_name": summary["metric_name"], "unit": summary["unit"],
            "direction": summary["direction"], "description": None, "project_id": summary["project_id"],
            "target": summary["target"], "primary_commitment_id": None}
