"""One row per metric series: the latest point's icons, its segment's limits and whether a rebase is
suggested (never applied) — pipelines.spc.summarise_series, the code `kpo spc --summary` uses too.
A project's series is judged against its intervention: a rebase is suggested only for a sustained
shift that began at or after it."""

from pipelines.spc_series import settings_from_registry, summarise_groups


def model(dbt, session):
    dbt.config(materialized="table")
    spc = dbt.ref("int_metric_spc").df().rename(columns={"period_month": "period"})
    settings = settings_from_registry(dbt.ref("dim_metrics").df())
    # when two projects own one series, the later intervention's (as int_series_targets takes its target)
    projects = dbt.ref("dim_projects").df().sort_values(["intervention_date", "project_id"])
    interventions = {(p.metric_id, p.series_key): p.intervention_date for p in projects.itertuples()}
    summary = summarise_groups(spc, ["metric_id", "series_key"], lambda key: settings[key[0]],
                               lambda key: interventions.get(tuple(key)))
    return summary.rename(columns={"latest_period": "latest_period_month"})
