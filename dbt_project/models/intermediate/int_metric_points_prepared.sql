-- Monthly points of every metric series, ready for SPC: the value, the metric's target, and whether an
-- approved rebase (spc_rebase_events) starts a new segment at this month.
with

monthly as (
    select * from {{ ref('mart_metric_monthly') }}
),

rebases as (
    -- a rebase is an approved event (docs/spc.md, rebasing): a row without its date, reason or approver is none, and is named in
    -- a warning (every_rebase_row_is_complete) instead of stopping every source's publication
    select * from {{ ref('spc_rebase_events') }}
    where
        metric_id is not null and series_key is not null and rebase_date is not null
        and reason is not null and approved_by is not null
),

rebase_months as (
    select distinct
        metric_id,
        series_key,
        cast({{ dbt.date_trunc('month', 'rebase_date') }} as date) as rebase_month
    from rebases
),

first_points as (
    -- an approved rebase dated in a month with no point starts the segment at the next point
    select
        rebase_months.metric_id,
        rebase_months.series_key,
        min(monthly.period_month) as period_month
    from rebase_months
    inner join monthly
        on
            rebase_months.metric_id = monthly.metric_id
            and rebase_months.series_key = monthly.series_key
            and rebase_months.rebase_month <= monthly.period_month
    group by rebase_months.metric_id, rebase_months.series_key, rebase_months.rebase_month
),

final as (
    select
        monthly.metric_id,
        monthly.series_key,
        monthly.period_month as period,
        monthly.value,
        monthly.target,
        first_points.period_month is not null as rebase
    from monthly
    left join first_points
        on
            monthly.metric_id = first_points.metric_id
            and monthly.series_key = first_points.series_key
            and monthly.period_month = first_points.period_month
)

select * from final
