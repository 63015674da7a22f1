-- Every landed version of every ED attendance, typed and renamed. Not deduplicated here: the
-- incremental fact keeps the latest version of each attendance (a month sent again, or corrected), so a
-- nightly run reads only what was landed since the last one.
with

source as (
    select * from {{ source('ed_attendances', 'attendances') }}
),

renamed as (
    select
        -- ids
        attendance_id,
        nhs_number_pseudonym as patient_pseudonym,
        -- dimensions
        nhs_number_status,
        site_code,
        department_type,
        unit,
        acuity,
        discharge_destination,
        age_band,
        -- timestamps
        arrived_at,
        initial_assessment_at,
        seen_for_treatment_at,
        decision_to_admit_at,
        departed_at,
        -- lineage
        _source_file as source_file,
        _source_line as source_line,
        _load_date as load_date,
        _loaded_at as loaded_at
    from source
)

select * from renamed
