"""SPC for every metric series: the dbt side of the one SPC implementation, pipelines/spc.py.

Why a Python model calling a vectorised Python function rather than a SQL macro: the Making Data
Count rules are runs within segments (shift, trend, two-of-three), frozen baselines and per-metric
settings; written once in numpy they are unit-tested against a hand-worked table of cases, and the
very same function serves `kpo spc` on an analyst's CSV, so the two can never disagree.
"""

from pipelines import faults
from pipelines.spc_series import compute_spc_groups, settings_from_registry


def model(dbt, session):
    dbt.config(materialized="table")
    faults.pause("dbt_build")  # fault-injection tests kill the run here, mid-build (no-op otherwise)
    points = dbt.ref("int_metric_points_prepared").df()
    settings = settings_from_registry(dbt.ref("dim_metrics").df())
    result = compute_spc_groups(points, ["metric_id", "series_key"], lambda key: settings[key[0]])
    return result.rename(columns={"period": "period_month"})
