-- Vacancies with their stage-to-stage durations: the facts behind the recruitment metrics.
with

vacancies as (
    select * from {{ ref('stg_hr_recruitment__vacancies') }}
),

final as (
    select
        -- ids
        vacancy_id,
        -- dimensions
        csu_code,
        site_code,
        staff_group,
        band,
        status,
        cast({{ dbt.date_trunc('month', 'unconditional_offer_at') }} as date) as offer_month,
        -- measures
        {{ dbt.datediff('cast(shortlisting_complete_at as date)', 'cast(unconditional_offer_at as date)', 'day') }}
            as lead_time_days,
        {{ dbt.datediff('cast(advert_published_at as date)', 'cast(unconditional_offer_at as date)', 'day') }}
            as time_to_hire_days,
        -- timestamps
        authorised_at,
        advert_published_at,
        shortlisting_complete_at,
        unconditional_offer_at,
        start_at
    from vacancies
)

select * from final
