-- mart_metric_monthly for partners outside the trust, under the disclosure rules (DOMAIN.md): sub-trust
-- counts of 1-7 suppressed, other counts (trust-wide ones included) rounded to 5, rates recomputed from the
-- rounded numerator and denominator, trust-wide totals rounded from the unrounded sums (they are computed
-- from exact rows), and a median withheld when it is taken over 1-7 records, at any level. The internal
-- warehouse stays exact.
with

monthly as (
    select * from {{ ref('mart_metric_monthly') }}
),

controlled as (
    select
        *,
        {{ disclose_count('numerator', 'is_trust_wide') }} as shared_numerator,
        {{ disclose_count('denominator', 'is_trust_wide') }} as shared_denominator,
        -- a median or percentile of 1-7 records is theirs, at any level: a trust-wide month with one RAU
        -- patient would publish that patient's time in department (a trust-wide count is only rounded)
        kind = 'statistic' and coalesce(denominator between 1 and 7, true) as statistic_withheld
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
            when kind = 'statistic' and not statistic_withheld then value
        end as value,
        target,
        (numerator is not null and shared_numerator is null)
        or (denominator is not null and shared_denominator is null)
        or statistic_withheld as is_suppressed
    from controlled
)

select * from final
