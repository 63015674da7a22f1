"""What the report reads from a publication's kpo.duckdb: marts and dimensions only.

The published file holds aggregates and reference data, never landed rows or free text, so nothing the
report shows can come from an extract row. Dimension order is the seed order (`rowid`), which is how
the KPO lists its commitments.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

Row = dict[str, Any]
SeriesKey = tuple[str, str]

POINT_COLUMNS = ("metric_id", "series_key", "period_month", "value", "target", "mean", "upl", "lpl", "segment_id",
                 "is_trial_limits", "point_type", "starts_rebased_segment")


@dataclass(frozen=True)
class ReportData:
    commitments: list[Row]
    metrics: dict[str, Row]
    projects: dict[str, Row]
    projects_by_commitment: dict[str, list[str]]
    projects_by_series: dict[SeriesKey, list[str]]
    remeasures: dict[str, list[Row]]
    series: list[Row]
    points: dict[SeriesKey, list[Row]]
    csu_names: dict[str, str]
    site_names: dict[str, str]


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[Row]:
    cursor = con.execute(sql)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]


def _grouped(rows: list[Row], key: str, value: str | None = None) -> dict[str, list]:
    grouped: dict[str, list] = defaultdict(list)
    for row in rows:
        grouped[row[key]].append(row[value] if value else row)
    return dict(grouped)


def load(database: Path) -> ReportData:
    """Everything the report shows, from one read-only connection."""
    with duckdb.connect(str(database), read_only=True) as con:
        projects = _rows(con, "select * from dim_projects order by rowid")
        points = _rows(con, f"select {', '.join(POINT_COLUMNS)} from mart_metric_spc "
                            "order by metric_id, series_key, period_month")
        by_series: dict[SeriesKey, list[Row]] = defaultdict(list)
        for point in points:
            by_series[(point["metric_id"], point["series_key"])].append(point)
        projects_by_series: dict[SeriesKey, list[str]] = defaultdict(list)
        for project in projects:
            projects_by_series[(project["metric_id"], project["series_key"])].append(project["project_id"])
        return ReportData(
            commitments=_rows(con, "select * from dim_commitments order by rowid"),
            metrics={m["metric_id"]: m for m in _rows(con, "select * from dim_metrics order by rowid")},
            projects={p["project_id"]: p for p in projects},
            projects_by_commitment=_grouped(
                _rows(con, "select * from dim_project_commitments order by rowid"), "commitment_id", "project_id"),
            projects_by_series=dict(projects_by_series),
            remeasures=_grouped(
                _rows(con, "select * from mart_project_remeasure order by project_id, remeasure_date, remeasure"),
                "project_id"),
            series=_rows(con, "select * from mart_metric_summary order by metric_id, series_key"),
            points=dict(by_series),
            csu_names=dict(con.execute("select csu_code, csu_name from dim_csus").fetchall()),
            site_names=dict(con.execute("select site_code, site_name from dim_sites").fetchall()),
        )
