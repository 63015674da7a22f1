-- One row per ED attendance with its time in department and the national thresholds it meets
-- (docs/definitions.md): within 4 hours is 240 minutes or less; over 12 hours is more than 720 minutes from
-- arrival; a 12-hour decision-to-admit wait leaves more than 720 minutes after the decision.
-- Minutes come from seconds, so 240 minutes and 30 seconds is not within 4 hours.
-- Incremental: a nightly run reads only the attendances landed since the last build and replaces them
-- (delete+insert on attendance_id), so its work follows the new day, not the history. When some of them are
-- already built (a correction, or a backfill re-landing an older load date), it reads every landed version
-- of those, so the latest wins as in a full refresh. `kpo run --full-refresh` rebuilds it from every landed
-- version. The last load kept here is looked up first and written into the query as a constant, so DuckDB
-- skips older landed files from their Parquet statistics instead of reading every file's load time.
with

landed as (
    select * from {{ ref('stg_ed_attendances__attendances') }}
    where {{ kpo_landed_for_fact(ref('stg_ed_attendances__attendances'), 'attendance_id') }}
),

attendances as (
    -- the latest landed version of each attendance wins
    select
        *,
        count(*) over (partition by attendance_id) as landed_versions
    from landed
    qualify row_number() over (
        partition by attendance_id order by load_date desc, loaded_at desc, source_line desc
    ) = 1
),

timed as (
    select
        *,
        {{ dbt.datediff('arrived_at', 'departed_at', 'second') }} / 60.0 as time_in_department_minutes,
        {{ dbt.datediff('decision_to_admit_at', 'departed_at', 'second') }} / 60.0 as decision_to_departure_minutes
    from attendances
),

final as (
    select
        -- ids
        attendance_id,
        -- dimensions
        site_code,
        unit,
        unit = 'RAU' as is_rau,
        acuity,
        discharge_destination,
        age_band,
        cast(arrived_at as date) as arrival_date,
        cast({{ dbt.date_trunc('month', 'arrived_at') }} as date) as arrival_month,
        -- measures
        time_in_department_minutes,
        decision_to_departure_minutes,
        time_in_department_minutes <= 240 as is_within_4_hours,
        time_in_department_minutes > 720 as is_over_12_hours,
        coalesce(decision_to_departure_minutes > 720, false) as is_12_hour_dta_wait,
        -- timestamps
        arrived_at,
        decision_to_admit_at,
        departed_at,
        -- lineage
        landed_versions,
        loaded_at
    from timed
)

-- in arrival order: the daily and monthly statistics look up recent days, and DuckDB's zone maps then skip
-- the row groups of older ones (a nightly batch of new days lands at the end)
select * from final
order by arrival_date
