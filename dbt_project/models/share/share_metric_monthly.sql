-- mart_metric_monthly for partners outside the trust, under the disclosure rules (DOMAIN.md): sub-trust
-- counts of 1-7 suppressed, other counts (trust-wide ones included) rounded to 5, rates recomputed from the
-- rounded numerator and denominator, trust-wide totals rounded from the unrounded sums (they are computed
-- from exact rows), and a median withheld when the count behind it is suppressed. The internal warehouse
-- stays exact.
with

monthly as (
    select * from {{ ref('mart_metric_monthly') }}
),

controlled as (
    select
        *,
        {{ disclose_count('numerator', 'is_trust_wide') }} as shared_numerator,
        {{ disclose_count('denominator', 'is_trust_wide') }} as shared_denominator
    from monthly
),

final as (
    select
        -- ids
        metric_id,
        series_key,
        period_month,
        -- dimensions
        breakdown,
        breakdown_value,
        csu_code,
        is_trust_wide,
        metric_name,
        unit,
        kind,
        direction,
        -- measures
        shared_numerator as numerator,
        shared_denominator as denominator,
        case
            when kind = 'rate' and shared_denominator > 0 then 100.0 * shared_numerator / shared_denominator
            when kind = 'count' then shared_numerator
            when kind = 'statistic' and shared_denominator is not null then value
        end as value,
        target,
        (numerator is not null and shared_numerator is null)
        or (denominator is not null and shared_denominator is null) as is_suppressed
    from controlled
)

select * from final
