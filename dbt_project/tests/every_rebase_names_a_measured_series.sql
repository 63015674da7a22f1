{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'spc_rebase_events'}}}) }}
-- An approved rebase of a measured metric whose series key names none of its series (a typo, 'csu:sim' for
-- 'csu:SIM', or a breakdown the metric does not have) rebases nothing: the chart keeps one segment, without a
-- word. A warning, as a rebase of a metric no plugin declares is (every_rebase_names_a_declared_metric): the
-- publication goes ahead, and the warning names the row each night until the seed is put right.
with

rebases as (
    select * from {{ ref('spc_rebase_events') }}
),

series as (
    select distinct
        metric_id,
        series_key
    from {{ ref('mart_metric_monthly') }}
)

select
    rebases.metric_id,
    rebases.series_key,
    rebases.rebase_date
from rebases
where
    rebases.metric_id in (select series.metric_id from series)
    and not exists (
        select 1 from series
        where series.metric_id = rebases.metric_id and series.series_key = rebases.series_key
    )
