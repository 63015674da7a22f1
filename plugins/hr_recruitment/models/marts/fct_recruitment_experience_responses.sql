-- One row per experience-survey response with the month it counts in and whether it is positive.
-- No free text: comments stay in staging.
with

responses as (
    select * from {{ ref('stg_hr_recruitment__experience_responses') }}
),

final as (
    select
        -- ids
        response_key,
        response_id,
        -- dimensions
        survey,
        csu_name,
        experience_answer,
        cast({{ dbt.date_trunc('month', 'submitted_at') }} as date) as response_month,
        -- measures: positive = very good or good, out of every response
        experience_answer in ('Very good', 'Good') as is_positive,
        -- timestamps
        submitted_at
    from responses
)

select * from final
