"""Hand-made series added to a copy of a published kpo.duckdb, for the report's edge cases and scale.

The SPC columns come from the same engine the marts use (`pipelines.spc`), so a case is exactly what
the pipeline would publish for those values: trial limits, no target, a neutral metric, a single
point, an approved rebase.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pandas as pd

from pipelines.spc import SpcSettings, compute_spc
from pipelines.spc_series import summarise_series

COMMITMENT = "patient_safety"  # has no metric in the hr_recruitment-only demo, so cases get a section of their own


def copy_publication(published: Path, target: Path) -> Path:
    """A writable copy of a publication's kpo.duckdb (the served name is a symlink)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(published.resolve(), target)
    return target


def add_metric(con: duckdb.DuckDBPyConnection, metric_id: str, direction: str, target: float | None,
               unit: str = "count") -> None:
    metric = pd.DataFrame([{"metric_id": metric_id, "metric_name": f"Test metric {metric_id}", "unit": unit,
                            "kind": "count", "direction": direction, "primary_commitment_id": COMMITMENT,
                            "target": target, "shift_run": 7, "trend_run": 7, "screen_moving_ranges": False,
                            "description": "A hand-made series for the report tests.", "plugin": "tests"}])
    con.register("new_metric", metric)
    con.execute("insert into dim_metrics by name select * from new_metric")
    con.unregister("new_metric")


def add_series(con: duckdb.DuckDBPyConnection, metric_id: str, series_key: str, values: list[float], *,
               direction: str, target: float | None, rebase_at: int | None = None, unit: str = "count") -> None:
    """One series of `values` (monthly from Jan 2021) in mart_metric_spc and mart_metric_summary."""
    periods = pd.date_range("2021-01-01", periods=len(values), freq="MS")
    points = pd.DataFrame({"period": periods, "value": [float(v) for v in values],
                           "target": [float("nan") if target is None else target] * len(values),
                           "rebase": [i == rebase_at for i in range(len(values))]})
    settings = SpcSettings(direction=direction)
    spc = compute_spc(points, settings)
    summary = summarise_series(spc, settings)
    breakdown, _, breakdown_value = series_key.partition(":")
    labels = {"metric_id": metric_id, "series_key": series_key, "metric_name": f"Test metric {metric_id}",
              "unit": unit, "direction": direction, "breakdown": breakdown, "breakdown_value": breakdown_value or None,
              "csu_code": breakdown_value if breakdown == "csu" else None, "is_trust_wide": series_key == "trust"}
    rows = spc.assign(**labels, period_month=spc["period"].dt.date, starts_rebased_segment=spc["rebase"])
    rows = rows.drop(columns=["period", "rebase"])
    summary_row = {**labels, **summary.__dict__, "latest_period_month": summary.latest_period.date(),
                   "target": summary.latest_target}
    summary_frame = pd.DataFrame([summary_row]).drop(columns=["latest_period", "latest_target"])
    for table, frame in (("mart_metric_spc", rows), ("mart_metric_summary", summary_frame)):
        con.register("new_rows", frame)
        con.execute(f"insert into {table} by name select * from new_rows")
        con.unregister("new_rows")


EDGE_CASES = {
    # metric_id: (direction, target, {series_key: (values, rebase_at)})
    "case_neutral": ("neutral", None, {"trust": ([10, 11, 9, 10, 12, 10, 11, 9, 10, 30, 11, 10, 9, 10], None)}),
    "case_no_target": ("decrease", None, {"trust": ([20, 22, 21, 19, 20, 23, 21, 20, 22, 19, 21, 20, 22], None)}),
    "case_trial": ("increase", 90.0, {"trust": ([80, 82, 79, 84, 81, 83], None),
                                      "csu:CAR": ([70, 72, 71], None)}),
    "case_single_point": ("increase", 5.0, {"trust": ([4], None), "csu:ABD": ([7], None)}),
    "case_rebase": ("decrease", 15.0, {"trust": ([40, 42, 39, 41, 40, 43, 38, 41, 40, 42, 39, 41, 40,
                                                  25, 24, 26, 23, 25, 24, 22], 13)}),
}


def add_edge_cases(database: Path) -> dict[tuple[str, str], int]:
    """The edge-case series; returns each one's number of points."""
    added = {}
    with duckdb.connect(str(database)) as con:
        for metric_id, (direction, target, series) in EDGE_CASES.items():
            add_metric(con, metric_id, direction, target)
            for series_key, (values, rebase_at) in series.items():
                add_series(con, metric_id, series_key, values, direction=direction, target=target,
                           rebase_at=rebase_at)
                added[(metric_id, series_key)] = len(values)
    return added


def add_many(database: Path, metrics: int, series_per_metric: int, months: int = 48) -> None:
    """A trust-sized report: `metrics` metrics with a trust-wide series and CSU series each."""
    import numpy as np

    generator = np.random.default_rng(7)
    with duckdb.connect(str(database)) as con:
        csus = [row[0] for row in con.execute("select csu_code from dim_csus order by csu_code").fetchall()]
        for m in range(metrics):
            metric_id, direction = f"scale_{m:02d}", ("increase", "decrease", "neutral")[m % 3]
            target = None if direction == "neutral" else 50.0
            add_metric(con, metric_id, direction, target, unit="percent")
            for s in range(series_per_metric):
                key = "trust" if s == 0 else f"csu:{csus[(s - 1) % len(csus)]}" if s <= len(csus) else f"site:S{s}"
                values = 50 + generator.normal(0, 4, months) + np.where(np.arange(months) > months * 0.6, 6, 0)
                add_series(con, metric_id, key, [round(v, 1) for v in values], direction=direction, target=target,
                           unit="percent")
