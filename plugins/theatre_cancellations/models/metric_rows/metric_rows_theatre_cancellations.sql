-- Monthly theatre cancellation metrics by month of the scheduled date: trust-wide, by CSU and by specialty.
-- Every month with scheduled procedures has a row, so a month without cancellations shows as zero.
-- A specialty's row names the CSU it nests in that month (parent_series_key), so that disclosure control
-- can check CSU minus its specialties; a specialty spread over several CSUs that month nests in none.
with

bookings as (
    select * from {{ ref('int_theatre_bookings_classified') }}
),

series as (
    select
        'trust' as breakdown,
        cast(null as varchar) as breakdown_value,
        cast(null as varchar) as parent_csu_code,
        scheduled_month,
        is_avoidable,
        is_last_minute,
        is_28_day_breach
    from bookings
    union all
    select
        'csu' as breakdown,
        csu_code as breakdown_value,
        cast(null as varchar) as parent_csu_code,
        scheduled_month,
        is_avoidable,
        is_last_minute,
        is_28_day_breach
    from bookings
    union all
    select
        'specialty' as breakdown,
        specialty as breakdown_value,
        csu_code as parent_csu_code,
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
        case when count(distinct parent_csu_code) = 1 then 'csu:' || min(parent_csu_code) end as parent_series_key,
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
        parent_series_key,
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
        parent_series_key,
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
        parent_series_key,
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
        parent_series_key,
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
        cast(parent_series_key as varchar) as parent_series_key,
        cast(numerator as double) as numerator,
        cast(denominator as double) as denominator,
        cast(value as double) as value
    from measures
)

select * from final
