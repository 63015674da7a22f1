-- Each attendance once per metric scope and series it counts in: the whole department (`ed`) and, for
-- RAU attendances, the Rapid Assessment Unit (`ed_rau`); trust-wide and for its site. The monthly and
-- daily metric rows aggregate this, so both grains count the same attendances.
-- One scan of the fact joined to the four scope x series combinations, not a union over a CTE read four
-- times: DuckDB materialises a CTE read more than once, whole, which hides the incremental models' date
-- filters from the fact's zone maps (three years read for one day). A `not materialized` hint prevented
-- that only in the session that created the view: DuckDB 1.5 drops the hint when it stores a view in a file
-- of the default storage version (as the build warehouse is), so a view kept from an earlier run read three
-- years again.
with

attendances as (
    select * from {{ ref('fct_ed_attendances') }}
),

scopes as (
    select
        combinations.metric_prefix,
        combinations.breakdown
    from (
        values ('ed', 'trust'), ('ed', 'site'), ('ed_rau', 'trust'), ('ed_rau', 'site')
    ) as combinations (metric_prefix, breakdown)
),

final as (
    select
        scopes.metric_prefix,
        scopes.breakdown,
        case when scopes.breakdown = 'site' then attendances.site_code end as breakdown_value,
        attendances.arrival_month,
        attendances.arrival_date,
        attendances.time_in_department_minutes,
        attendances.is_within_4_hours,
        attendances.is_over_12_hours,
        attendances.is_12_hour_dta_wait,
        attendances.loaded_at
    from attendances
    inner join scopes
        on scopes.metric_prefix = 'ed' or attendances.is_rau
)

select * from final
