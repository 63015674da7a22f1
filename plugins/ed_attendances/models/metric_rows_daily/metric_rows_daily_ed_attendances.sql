-- Daily ED metrics by day of arrival, trust-wide and by site: the rates and counts only. A daily
-- median or 95th percentile is not published - too few attendances a day for a stable statistic,
-- and it cannot be rebuilt from daily parts.
with

daily as (
    select * from {{ ref('int_ed_attendances_daily') }}
),

measures as (
    select
        metric_prefix || '_within_4_hours_pct' as metric_id,
        arrival_date,
        breakdown,
        breakdown_value,
        within_4_hours as numerator,
        attendances as denominator,
        100.0 * within_4_hours / attendances as value
    from daily
    union all
    select
        metric_prefix || '_over_12_hours_pct' as metric_id,
        arrival_date,
        breakdown,
        breakdown_value,
        over_12_hours as numerator,
        attendances as denominator,
        100.0 * over_12_hours / attendances as value
    from daily
    union all
    select
        metric_prefix || '_12_hour_dta_waits' as metric_id,
        arrival_date,
        breakdown,
        breakdown_value,
        dta_waits_12_hours as numerator,
        cast(null as double) as denominator,
        dta_waits_12_hours as value
    from daily
),

final as (
    select
        cast(metric_id as varchar) as metric_id,
        cast(arrival_date as date) as period_date,
        cast(breakdown as varchar) as breakdown,
        cast(breakdown_value as varchar) as breakdown_value,
        cast(numerator as double) as numerator,
        cast(denominator as double) as denominator,
        cast(value as double) as value
    from measures
)

select * from final
