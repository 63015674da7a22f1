-- One row per ED attendance: the latest landed version wins when extracts overlap (a month sent again,
-- or corrected), so loading any extract twice changes no number.
with

source as (
    select * from {{ source('ed_attendances', 'attendances') }}
),

latest as (
    select *
    from source
    qualify row_number() over (
        partition by attendance_id order by _load_date desc, _loaded_at desc, _source_line desc
    ) = 1
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
        _load_date as load_date
    from latest
)

select * from renamed
