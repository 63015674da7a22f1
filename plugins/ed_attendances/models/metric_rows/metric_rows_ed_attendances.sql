-- Monthly ED metrics by month of arrival, for the whole department (ed_*) and the Rapid Assessment
-- Unit (ed_rau_*), trust-wide and by site. Medians and 95th percentiles are taken over attendances,
-- never averaged across sites; rates keep their numerator and denominator.
with

monthly as (
    select * from {{ ref('int_ed_attendances_monthly') }}
),

measures as (
    select
        metric_prefix || '_median_minutes' as metric_id,
        arrival_month,
        breakdown,
        breakdown_value,
        cast(null as double) as numerator,
        attendances as denominator,
        median_minutes as value
    from monthly
    union all
    select
        metric_prefix || '_p95_minutes' as metric_id,
        arrival_month,
        breakdown,
        breakdown_value,
        cast(null as double) as numerator,
        attendances as denominator,
        p95_minutes as value
    from monthly
    union all
    select
        metric_prefix || '_within_4_hours_pct' as metric_id,
        arrival_month,
        breakdown,
        breakdown_value,
        within_4_hours as numerator,
        attendances as denominator,
        100.0 * within_4_hours / attendances as value
    from monthly
    union all
    select
        metric_prefix || '_over_12_hours_pct' as metric_id,
        arrival_month,
        breakdown,
        breakdown_value,
        over_12_hours as numerator,
        attendances as denominator,
        100.0 * over_12_hours / attendances as value
    from monthly
    union all
    select
        metric_prefix || '_12_hour_dta_waits' as metric_id,
        arrival_month,
        breakdown,
        breakdown_value,
        dta_waits_12_hours as numerator,
        cast(null as double) as denominator,
        dta_waits_12_hours as value
    from monthly
),

final as (
    select
        cast(metric_id as varchar) as metric_id,
        cast(arrival_month as date) as period_month,
        cast(breakdown as varchar) as breakdown,
        cast(breakdown_value as varchar) as breakdown_value,
        cast(numerator as double) as numerator,
        cast(denominator as double) as denominator,
        cast(value as double) as value
    from measures
)

select * from final
