-- mart_metric_monthly for partners outside the trust, under the disclosure rules of docs/disclosure.md:
-- every count as the macro disclosure_cells publishes it (rounded to 5, half up; blank when suppressed by the
-- primary rule or to protect another cell), rates recomputed from the rounded numerator and denominator and
-- shown only over a rounded denominator of at least 50 (rounding then moves a rate by at most 8 points), and
-- a median or percentile shown only over a rounded count of at least 20 records (a 95th percentile of fewer
-- is one person's own time). The internal warehouse stays exact.
{%- set min_rate_denominator = 50 %}
{%- set min_statistic_records = 20 %}
with

monthly as (
    select * from {{ ref('mart_metric_monthly') }}
),

cells as (
    {{ disclosure_cells(ref('mart_metric_monthly'), ref('dim_metrics')) }}
),

controlled as (
    select
        monthly.*,
        numerators.shared_count as shared_numerator,
        denominators.shared_count as shared_denominator,
        coalesce(numerators.is_sub_trust, denominators.is_sub_trust, not monthly.is_trust_wide) as is_sub_trust
    from monthly
    left join cells as numerators
        on
            monthly.metric_id = numerators.metric_id
            and monthly.series_key = numerators.series_key
            and monthly.period_month = numerators.period_month
            and numerators.measure = 'numerator'
    left join cells as denominators
        on
            monthly.metric_id = denominators.metric_id
            and monthly.series_key = denominators.series_key
            and monthly.period_month = denominators.period_month
            and denominators.measure = 'denominator'
),

valued as (
    select
        *,
        case
            when kind = 'rate' and shared_numerator is not null and shared_denominator >= {{ min_rate_denominator }}
                then 100.0 * shared_numerator / shared_denominator
            when kind = 'count' then shared_numerator
            when kind = 'statistic' and shared_denominator >= {{ min_statistic_records }} then value
        end as shared_value
    from controlled
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
        parent_series_key,
        is_trust_wide,
        is_sub_trust,
        metric_name,
        unit,
        kind,
        direction,
        -- measures
        shared_numerator as numerator,
        shared_denominator as denominator,
        shared_value as value,
        target,
        (numerator is not null and shared_numerator is null)
        or (denominator is not null and shared_denominator is null)
        or (value is not null and shared_value is null) as is_suppressed
    from valued
)

select * from final
