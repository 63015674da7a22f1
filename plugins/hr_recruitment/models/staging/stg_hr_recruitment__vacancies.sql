-- One row per vacancy: the latest landed version wins when extracts overlap (Trac exports are snapshots).
with

source as (
    select * from {{ source('hr_recruitment', 'vacancies') }}
),

latest as (
    select *
    from source
    qualify row_number() over (
        partition by vacancy_id order by _load_date desc, _loaded_at desc, _source_line desc
    ) = 1
),

renamed as (
    select
        -- ids
        vacancy_id,
        -- dimensions
        job_title,
        staff_group,
        band,
        csu_code,
        site_code,
        status,
        -- timestamps
        authorised_at,
        advert_published_at,
        closing_date,
        shortlisting_complete_at,
        interview_at,
        conditional_offer_at,
        checks_complete_at,
        unconditional_offer_at,
        start_at,
        -- lineage
        _source_file as source_file,
        _source_line as source_line,
        _load_date as load_date
    from latest
)

select * from renamed
