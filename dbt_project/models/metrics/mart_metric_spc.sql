-- One row per metric series point with everything Making Data Count draws: mean, moving range,
-- process limits, 2-sigma lines, each rule's flag, point type, segment and trial-limit flag.
with

spc as (
    select * from {{ ref('int_metric_spc') }}
),

monthly as (
    select * from {{ ref('mart_metric_monthly') }}
),

final as (
    select
        -- ids
        spc.metric_id,
        spc.series_key,
        cast(spc.period_month as date) as period_month,
        -- dimensions
        monthly.metric_name,
        monthly.unit,
        monthly.direction,
        monthly.breakdown,
        monthly.breakdown_value,
        monthly.csu_code,
        monthly.is_trust_wide,
        cast(spc.segment_id as integer) as segment_id,
        cast(spc.point_in_segment as integer) as point_in_segment,
        spc.is_baseline_point,
        spc.is_trial_limits,
        spc.moving_range_screening,
        -- measures
        spc.value,
        spc.target,
        spc.moving_range,
        spc.mr_bar,
        spc.mean,
        spc.upl,
        spc.lpl,
        spc.upper_two_sigma,
        spc.lower_two_sigma,
        -- rules and judgements
        spc.rule_astronomical,
        spc.rule_shift,
        spc.rule_trend,
        spc.rule_two_of_three,
        spc.signal_high,
        spc.signal_low,
        spc.point_type,
        spc.variation_icon,
        spc.assurance_icon,
        spc.rebase as starts_rebased_segment
    from spc
    inner join monthly
        on
            spc.metric_id = monthly.metric_id
            and spc.series_key = monthly.series_key
            and cast(spc.period_month as date) = monthly.period_month
)

select * from final
