-- Scheduled elective procedures classified by the reason-code seed: cancelled, avoidable (the KPO's local
-- definition), last-minute non-clinical and 28-day breaches (the national cancelled-operations return).
-- A view over the incremental fact: the classification follows the seed and the extract's horizon as they
-- are today, so editing the seed or landing a later extract never leaves old bookings classified stale.
with

bookings as (
    select * from {{ ref('fct_theatre_bookings') }}
),

reasons as (
    select * from {{ ref('theatre_cancellation_reasons') }}
),

-- The extract's horizon: a patient not yet treated counts as a 28-day breach only once 28 days have
-- passed by the last date the extract covers (never by today's date, which would age old extracts).
horizon as (
    select max(scheduled_date) as as_of_date
    from bookings
),

joined as (
    select
        bookings.*,
        reasons.category as reason_category,
        reasons.national_return_category,
        coalesce(reasons.is_avoidable, false) as reason_is_avoidable,
        cast(bookings.cancelled_at as date) as cancelled_date,
        horizon.as_of_date
    from bookings
    left join reasons
        on bookings.reason_code = reasons.reason_code
    cross join horizon
),

classified as (
    select
        *,
        outcome in ('cancelled', 'postponed') as is_cancelled,
        -- National rule: cancelled by the hospital for non-clinical reasons on the day the patient was due to
        -- arrive, after arrival, or on the day of surgery.
        coalesce(
            outcome in ('cancelled', 'postponed')
            and cancelled_by = 'hospital'
            and reason_category = 'non-clinical'
            and cancelled_date >= tci_date,
            false
        ) as is_last_minute,
        {{ dbt.datediff('cancelled_date', 'treated_date', 'day') }} as days_to_treatment,
        {{ dbt.datediff('cancelled_date', 'as_of_date', 'day') }} as days_to_horizon
    from joined
),

final as (
    select
        -- ids
        booking_id,
        patient_pseudonym,
        -- dimensions
        specialty,
        procedure_name,
        csu_code,
        site_code,
        outcome,
        cancelled_by,
        reason_code,
        reason_category,
        national_return_category,
        cast({{ dbt.date_trunc('month', 'scheduled_date') }} as date) as scheduled_month,
        -- measures
        is_cancelled,
        is_cancelled and reason_is_avoidable as is_avoidable,
        is_last_minute,
        days_to_treatment,
        coalesce(
            is_last_minute and (days_to_treatment > 28 or (treated_date is null and days_to_horizon > 28)),
            false
        ) as is_28_day_breach,
        -- timestamps
        tci_date,
        scheduled_date,
        cancelled_at,
        rebooked_date,
        treated_date
    from classified
)

select * from final
