-- One row per booking: the latest landed version wins when extracts overlap (each extract is a snapshot).
with

source as (
    select * from {{ source('theatre_cancellations', 'bookings') }}
),

latest as (
    select *
    from source
    qualify row_number() over (
        partition by booking_id order by _load_date desc, _loaded_at desc, _source_line desc
    ) = 1
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
        _load_date as load_date
    from latest
)

select * from renamed
