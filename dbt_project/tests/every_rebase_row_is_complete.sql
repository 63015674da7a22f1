{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'spc_rebase_events'}}}) }}
-- A rebase is an approved event with a metric, a series, a date, a reason and who approved it (docs/spc.md, rebasing): a
-- row of spc_rebase_events lacking any of them is not applied (int_metric_points_prepared). A warning naming the
-- row, not an error: a half-typed row in the KPO's seed would otherwise stop every source's publication.
select
    metric_id,
    series_key,
    rebase_date,
    reason,
    approved_by
from {{ ref('spc_rebase_events') }}
where
    metric_id is null or series_key is null or rebase_date is null or reason is null or approved_by is null
