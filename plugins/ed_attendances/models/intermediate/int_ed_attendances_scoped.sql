-- Each attendance once per metric scope and series it counts in: the whole department (`ed`) and, for
-- RAU attendances, the Rapid Assessment Unit (`ed_rau`); trust-wide and for its site. The monthly and
-- daily metric rows aggregate this, so both grains count the same attendances.
-- `not materialized`: each CTE is read twice, and DuckDB would otherwise materialise it whole, which
-- hides the incremental models' date filters from the fact's zone maps (three years read for one day).
with

attendances as not materialized (
    select * from {{ ref('fct_ed_attendances') }}
),

scoped as not materialized (
    select
        'ed' as metric_prefix,
        attendances.*
    from attendances
    union all
    select
        'ed_rau' as metric_prefix,
        attendances.*
    from attendances
    where attendances.is_rau
),

final as (
    select
        metric_prefix,
        'trust' as breakdown,
        cast(null as varchar) as breakdown_value,
        arrival_month,
        arrival_date,
        time_in_department_minutes,
        is_within_4_hours,
        is_over_12_hours,
        is_12_hour_dta_wait,
        loaded_at
    from scoped
    union all
    select
        metric_prefix,
        'site' as breakdown,
        site_code as breakdown_value,
        arrival_month,
        arrival_date,
        time_in_department_minutes,
        is_within_4_hours,
        is_over_12_hours,
        is_12_hour_dta_wait,
        loaded_at
    from scoped
)

select * from final
