-- % positive recruitment experience per month of response, for applicants and hiring managers
-- separately, trust-wide (a survey round is a few dozen responses: too few to split by CSU).
with

responses as (
    select * from {{ ref('fct_recruitment_experience_responses') }}
),

by_survey as (
    select
        case
            when survey = 'Applicant' then 'recruitment_applicant_experience_positive_pct'
            when survey = 'Hiring manager' then 'recruitment_manager_experience_positive_pct'
        end as metric_id,
        response_month as period_month,
        sum(case when is_positive then 1 else 0 end) as positive,
        count(*) as responses
    from responses
    group by survey, response_month
),

final as (
    select
        cast(metric_id as varchar) as metric_id,
        cast(period_month as date) as period_month,
        cast('trust' as varchar) as breakdown,
        cast(null as varchar) as breakdown_value,
        cast(positive as double) as numerator,
        cast(responses as double) as denominator,
        cast(100.0 * positive / responses as double) as value
    from by_survey
)

select * from final
