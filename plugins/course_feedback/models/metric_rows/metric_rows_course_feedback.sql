-- Course metrics by month of session: participants and % recommend, trust-wide and for each course, and
-- the intermediate course's participants against its monthly capacity (seed course_capacity).
with

responses as (
    select * from {{ ref('fct_course_feedback_responses') }}
),

capacity as (
    select * from {{ ref('course_capacity') }}
),

by_course as (
    select
        session_month as period_month,
        course,
        count(*) as participants,
        sum(case when is_recommending then 1 else 0 end) as recommending
    from responses
    group by session_month, course
),

by_trust as (
    select
        period_month,
        sum(participants) as participants,
        sum(recommending) as recommending
    from by_course
    group by period_month
),

intermediate as (
    select
        by_course.period_month,
        by_course.participants,
        capacity.monthly_capacity
    from by_course
    inner join capacity
        on
            by_course.course = capacity.course
            and by_course.period_month >= capacity.valid_from
            and (capacity.valid_to is null or by_course.period_month < capacity.valid_to)
    where by_course.course = 'Intermediate course'
),

-- Counts carry no denominator; rates carry theirs (all responses, "don't know" included).
unioned as (
    select
        'course_participants' as metric_id,
        period_month,
        'trust' as breakdown,
        null as breakdown_value,
        participants as numerator,
        null as denominator
    from by_trust
    union all
    select
        'course_participants' as metric_id,
        period_month,
        'course' as breakdown,
        course as breakdown_value,
        participants as numerator,
        null as denominator
    from by_course
    union all
    select
        'course_recommend_pct' as metric_id,
        period_month,
        'trust' as breakdown,
        null as breakdown_value,
        recommending as numerator,
        participants as denominator
    from by_trust
    union all
    select
        'course_recommend_pct' as metric_id,
        period_month,
        'course' as breakdown,
        course as breakdown_value,
        recommending as numerator,
        participants as denominator
    from by_course
    union all
    select
        'course_intermediate_capacity_used_pct' as metric_id,
        period_month,
        'trust' as breakdown,
        null as breakdown_value,
        participants as numerator,
        monthly_capacity as denominator
    from intermediate
),

final as (
    select
        cast(metric_id as varchar) as metric_id,
        cast(period_month as date) as period_month,
        cast(breakdown as varchar) as breakdown,
        cast(breakdown_value as varchar) as breakdown_value,
        cast(numerator as double) as numerator,
        cast(denominator as double) as denominator,
        cast(
            case when denominator is null then numerator else 100.0 * numerator / denominator end as double
        ) as value
    from unioned
)

select * from final
