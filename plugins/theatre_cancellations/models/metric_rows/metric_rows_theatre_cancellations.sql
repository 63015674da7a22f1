-- Monthly theatre cancellation metrics by month of the scheduled date: trust-wide, by CSU and by specialty.
-- Every month with scheduled procedures has a row, so a month without cancellations shows as zero.
with

bookings as (
    select * from {{ ref('int_theatre_bookings_classified') }}
),

series as (
    select
        'trust' as breakdown,
        cast(null as varchar) as breakdown_value,
        scheduled_month,
        is_avoidable,
        is_last_minute,
        is_28_day_breach
    from bookings
    union all
    select
        'csu' as breakdown,
        csu_code as breakdown_value,
        scheduled_month,
        is_avoidable,
        is_last_minute,
        is_28_day_breach
    from bookings
    union all
    select
        'specialty' as breakdown,
        specialty as breakdown_value,
        scheduled_month,
        is_avoidable,
        is_last_minute,
        is_28_day_breach
    from bookings
),

monthly as (
    select
        breakdown,
        breakdown_value,
        scheduled_month as period_month,
        count(*) as scheduled,
        sum(case when is_avoidable then 1 else 0 end) as avoidable,
        sum(case when is_last_minute then 1 else 0 end) as last_minute,
        sum(case when is_28_day_breach then 1 else 0 end) as breaches
    from series
    group by breakdown, breakdown_value, scheduled_month
),

measures as (
    select
        'theatre_avoidable_cancellation_rate' as metric_id,
        period_month,
        breakdown,
        breakdown_value,
        avoidable as numerator,
        scheduled as denominator,
        100.0 * avoidable / scheduled as value
    from monthly
    union all
    select
        'theatre_avoidable_cancellations' as metric_id,
        period_month,
        breakdown,
        breakdown_value,
        avoidable as numerator,
        null as denominator,
        avoidable as value
    from monthly
    union all
    select
        'theatre_last_minute_cancellations' as metric_id,
        period_month,
        breakdown,
        breakdown_value,
        last_minute as numerator,
        null as denominator,
        last_minute as value
    from monthly
    union all
    select
        'theatre_rebook_28_day_breaches' as metric_id,
        period_month,
        breakdown,
        breakdown_value,
        breaches as numerator,
        null as denominator,
        breaches as value
    from monthly
),

final as (
    select
        cast(metric_id as varchar) as metric_id,
        cast(period_month as date) as period_month,
        cast(breakdown as varchar) as breakdown,
        cast(breakdown_value as varchar) as breakdown_value,
        cast(numerator as double) as numerator,
        cast(denominator as double) as denominator,
        cast(value as double) as value
    from measures
)

select * from final
