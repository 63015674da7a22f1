-- Monthly recruitment metrics by month of unconditional offer: trust-wide and for each CSU.
-- Medians are taken over vacancies (the denominator is how many), never averaged across CSUs.
with

vacancies as (
    select * from {{ ref('fct_recruitment_vacancies') }}
),

offers as (
    select * from vacancies
    where offer_month is not null
),

measures as (
    select
        'recruitment_lead_time_days' as metric_id,
        offer_month,
        csu_code,
        lead_time_days as days
    from offers
    where lead_time_days is not null
    union all
    select
        'recruitment_time_to_hire_days' as metric_id,
        offer_month,
        csu_code,
        time_to_hire_days as days
    from offers
    where time_to_hire_days is not null
),

by_trust as (
    select
        metric_id,
        offer_month as period_month,
        'trust' as breakdown,
        cast(null as varchar) as breakdown_value,
        count(*) as records,
        percentile_cont(0.5) within group (order by days) as median_days
    from measures
    group by metric_id, offer_month
),

by_csu as (
    select
        metric_id,
        offer_month as period_month,
        'csu' as breakdown,
        csu_code as breakdown_value,
        count(*) as records,
        percentile_cont(0.5) within group (order by days) as median_days
    from measures
    group by metric_id, offer_month, csu_code
),

final as (
    select
        metric_id,
        period_month,
        breakdown,
        breakdown_value,
        cast(null as double) as numerator,
        cast(records as double) as denominator,
        cast(median_days as double) as value
    from (
        select * from by_trust
        union all
        select * from by_csu
    ) as unioned
)

select * from final
