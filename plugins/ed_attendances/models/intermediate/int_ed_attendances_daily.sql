-- Daily ED counts per scope (department, RAU) and series (trust, site), for the daily metric rows.
-- Incremental: a nightly run recomputes only the days that received attendances since the last build, or
-- lost one to a correction that moved it (every landed version of a new attendance counts).
-- Those days are looked up first and written into the query as constants, so DuckDB's zone maps skip the
-- fact's other row groups (it is kept in arrival order): the work follows the new days, not the history.
-- depends_on: {{ ref('stg_ed_attendances__attendances') }} {{ ref('fct_ed_attendances') }}
{#- every row on a full build; on a nightly run the recomputed values' rows, or none when nothing landed -#}
{%- set recompute = 'true' %}
{%- if is_incremental() and execute %}
    {%- set touched = kpo_recomputed_values() %}
    {%- set recompute = 'false' %}
    {%- if touched %}
        {%- set recompute %}
            arrival_date between date '{{ touched[0] }}' and date '{{ touched[-1] }}'
            and arrival_date in ({{ kpo_date_list(touched) }})
        {%- endset %}
    {%- endif %}
{%- endif %}
with

scoped as (
    select * from {{ ref('int_ed_attendances_scoped') }}
),

selected as (
    select * from scoped
    where {{ recompute }}
),

final as (
    select
        metric_prefix,
        arrival_date,
        breakdown,
        breakdown_value,
        -- a series key without nulls for the uniqueness test (null never equals null)
        breakdown || ':' || coalesce(breakdown_value, '') as series_key,
        count(*) as attendances,
        sum(case when is_within_4_hours then 1 else 0 end) as within_4_hours,
        sum(case when is_over_12_hours then 1 else 0 end) as over_12_hours,
        sum(case when is_12_hour_dta_wait then 1 else 0 end) as dta_waits_12_hours,
        max(loaded_at) as last_loaded_at
    from selected
    group by metric_prefix, arrival_date, breakdown, breakdown_value
)

select * from final
