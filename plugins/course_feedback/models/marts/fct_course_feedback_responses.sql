-- One row per participant (one feedback response = one participant) with the month they count in and
-- whether they would recommend the course. No free text: comments stay in staging.
with

responses as (
    select * from {{ ref('stg_course_feedback__feedback_responses') }}
),

csus as (
    select * from {{ ref('dim_csus') }}
),

final as (
    select
        -- ids
        responses.response_key,
        responses.response_id,
        responses.respondent_pseudonym,
        -- dimensions
        responses.course,
        responses.course_as_answered,
        responses.delivery_mode,
        responses.staff_group,
        responses.csu_name,
        csus.csu_code,
        responses.recommend_answer,
        cast({{ dbt.date_trunc('month', 'responses.session_date') }} as date) as session_month,
        -- measures: the Friends and Family Test rule, "don't know" stays in the denominator
        responses.recommend_answer in ('Extremely likely', 'Likely') as is_recommending,
        -- timestamps
        responses.session_date,
        responses.submitted_at
    from responses
    left join csus
        on lower(responses.csu_name) = lower(csus.csu_name)
)

select * from final
