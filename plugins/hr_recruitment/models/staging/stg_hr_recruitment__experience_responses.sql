-- One row per experience-survey response: the latest landed version wins when MS Forms exports overlap
-- (each export repeats every response so far).
-- MS Forms numbers a form's responses from 1, so another form's export (a copy of the form for a new year, say)
-- reuses the numbers: a response is its number and its completion time, which every later export repeats, so two
-- forms' responses never replace each other, whatever their files are called.
with

source as (
    select * from {{ source('hr_recruitment', 'experience_responses') }}
),

latest as (
    select *
    from source
    qualify row_number() over (
        partition by response_id, submitted_at order by _load_date desc, _loaded_at desc, _source_line desc
    ) = 1
),

renamed as (
    select
        -- ids
        response_id || ' completed ' || strftime(submitted_at, '%Y-%m-%d %H:%M:%S') as response_key,
        response_id,
        -- dimensions
        survey,
        csu_name,
        experience_answer,
        -- free text: kept for analysts in the build, never selected above staging
        comment,
        -- timestamps
        started_at,
        submitted_at,
        -- lineage
        _source_file as source_file,
        _source_line as source_line,
        _load_date as load_date
    from latest
)

select * from renamed
