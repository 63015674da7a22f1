-- One row per metric series: where it stands now (latest value, variation and assurance icons from
-- the last point, limits of its latest segment), its target and baseline, and any suggested rebase.
with

summary as (
    select * from {{ ref('int_metric_spc_summary') }}
),

metrics as (
    select * from {{ ref('dim_metrics') }}
),

projects as (
    select * from {{ ref('dim_projects') }}
),

series as (
    select distinct
        metric_id,
        series_key,
        breakdown,
        breakdown_value,
        csu_code,
        is_trust_wide
    from {{ ref('mart_metric_monthly') }}
),

final as (
    select
        -- ids
        summary.metric_id,
        summary.series_key,
        projects.project_id,
        -- dimensions
        metrics.metric_name,
        metrics.unit,
        metrics.direction,
        series.breakdown,
        series.breakdown_value,
        series.csu_code,
        series.is_trust_wide,
        cast(summary.latest_period_month as date) as latest_period_month,
        -- judgements
        summary.variation_icon,
        summary.assurance_icon,
        cast(summary.segment_id as integer) as segment_id,
        cast(summary.points_in_segment as integer) as points_in_segment,
        summary.is_trial_limits,
        summary.rebase_suggested,
        summary.rebase_reason,
        -- measures
        summary.latest_value,
        summary.latest_target as target,
        projects.baseline_value,
        summary.mean,
        summary.upl,
        summary.lpl
    from summary
    inner join metrics
        on summary.metric_id = metrics.metric_id
    inner join series
        on
            summary.metric_id = series.metric_id
            and summary.series_key = series.series_key
    left join projects
        on
            summary.metric_id = projects.metric_id
            and summary.series_key = projects.series_key
)

select * from final
