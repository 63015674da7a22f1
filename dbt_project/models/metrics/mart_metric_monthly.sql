-- The commitment-aligned metric mart: metric x series (trust-wide, CSU, site, ...) x month, with the
-- numerator and denominator kept so any rate can be re-aggregated and disclosure control applied.
with

metric_rows as (
    select * from {{ ref('int_metric_rows_unioned') }}
),

metrics as (
    select * from {{ ref('dim_metrics') }}
),

series_targets as (
    select * from {{ ref('int_series_targets') }}
),

keyed as (
    select
        metric_rows.*,
        case
            when metric_rows.breakdown = 'trust' then 'trust'
            else metric_rows.breakdown || ':' || metric_rows.breakdown_value
        end as series_key
    from metric_rows
),

final as (
    select
        -- ids
        keyed.metric_id,
        keyed.series_key,
        keyed.period_month,
        -- dimensions
        keyed.breakdown,
        case when keyed.breakdown = 'trust' then null else keyed.breakdown_value end as breakdown_value,
        case when keyed.breakdown = 'csu' then keyed.breakdown_value end as csu_code,
        keyed.breakdown = 'trust' as is_trust_wide,
        -- the series this one nests in below trust level (a specialty's CSU), when its plugin says
        keyed.parent_series_key,
        metrics.metric_name,
        metrics.unit,
        metrics.kind,
        metrics.direction,
        -- measures
        keyed.numerator,
        keyed.denominator,
        keyed.value,
        -- a project's target for its own series, else the metric's
        coalesce(series_targets.target, metrics.target) as target
    from keyed
    inner join metrics
        on keyed.metric_id = metrics.metric_id
    left join series_targets
        on
            keyed.metric_id = series_targets.metric_id
            and keyed.series_key = series_targets.series_key
)

select * from final
