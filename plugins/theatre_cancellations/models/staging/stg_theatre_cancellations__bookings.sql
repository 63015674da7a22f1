-- Every landed version of every booking, typed and renamed; the incremental fact keeps the latest version
-- of each booking (extracts are snapshots and overlap), reading only what was landed since its last build.
with

source as (
    select * from {{ source('theatre_cancellations', 'bookings') }}
),

renamed as (
    select
        -- ids
        booking_id,
        nhs_number_pseudonym as patient_pseudonym,
        nhs_number_status,
        -- dimensions
        specialty,
        procedure_name,
        csu_code,
        site_code,
        lower(outcome) as outcome,
        lower(cancelled_by) as cancelled_by,
        reason_code,
        -- timestamps
        coalesce(tci_date, scheduled_date) as tci_date,
        scheduled_date,
        cancelled_at,
        rebooked_date,
        treated_date,
        -- lineage
        _source_file as source_file,
        _source_line as source_line,
        _load_date as load_date,
        _loaded_at as loaded_at
    from source
)

select * from renamed
