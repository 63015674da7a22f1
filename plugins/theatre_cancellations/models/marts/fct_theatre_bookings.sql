-- One row per scheduled elective procedure: the latest landed version of each booking. Incremental: a
-- nightly run reads only the bookings landed since the last build and replaces them (delete+insert on
-- booking_id); when some of them are already built (a correction, or a backfill re-landing an older load
-- date), it reads every landed version of those, so the latest wins as in a full refresh.
-- `kpo run --full-refresh` rebuilds it from every landed version. Classification against the reason seed
-- happens downstream (int_theatre_bookings_classified), so it never goes stale here.
with

landed as (
    select * from {{ ref('stg_theatre_cancellations__bookings') }}
    where {{ kpo_landed_for_fact(ref('stg_theatre_cancellations__bookings'), 'booking_id') }}
),

latest as (
    select *
    from landed
    qualify row_number() over (
        partition by booking_id order by load_date desc, loaded_at desc, source_line desc
    ) = 1
),

final as (
    select
        -- ids
        booking_id,
        patient_pseudonym,
        nhs_number_status,
        -- dimensions
        specialty,
        procedure_name,
        csu_code,
        site_code,
        outcome,
        cancelled_by,
        reason_code,
        -- timestamps
        tci_date,
        scheduled_date,
        cancelled_at,
        rebooked_date,
        treated_date,
        -- lineage
        source_file,
        source_line,
        load_date,
        loaded_at
    from latest
)

select * from final
