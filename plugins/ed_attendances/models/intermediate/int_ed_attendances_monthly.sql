-- Monthly ED statistics per scope (department, RAU) and series (trust, site): counts for the rates and
-- the median and 95th percentile over attendances. Incremental: a nightly run recomputes only the months
-- that received attendances since the last build (a month of rows, not three years); every statistic of a
-- recomputed month is taken over all its attendances, so medians stay exact.
-- depends_on: {{ ref('stg_ed_attendances__attendances') }}
with

scoped as (
    select * from {{ ref('int_ed_attendances_scoped') }}
),

{% if is_incremental() -%}
touched as (
    -- read from the landed files (pruned by load time), not the whole fact
    select distinct cast({{ dbt.date_trunc('month', 'arrived_at') }} as date) as arrival_month
    from {{ ref('stg_ed_attendances__attendances') }}
    where loaded_at > (select max(last_loaded_at) from {{ this }})
),

{% endif -%}
selected as (
    select * from scoped
    {%- if is_incremental() %}
    where arrival_month in (select touched.arrival_month from touched)
    {%- endif %}
),

final as (
    select
        metric_prefix,
        arrival_month,
        breakdown,
        breakdown_value,
        -- a key without nulls: delete+insert matches rows on it, and null never equals null
        breakdown || ':' || coalesce(breakdown_value, '') as series_key,
        count(*) as attendances,
        sum(case when is_within_4_hours then 1 else 0 end) as within_4_hours,
        sum(case when is_over_12_hours then 1 else 0 end) as over_12_hours,
        sum(case when is_12_hour_dta_wait then 1 else 0 end) as dta_waits_12_hours,
        percentile_cont(0.5) within group (order by time_in_department_minutes) as median_minutes,
        percentile_cont(0.95) within group (order by time_in_department_minutes) as p95_minutes,
        max(loaded_at) as last_loaded_at
    from selected
    group by metric_prefix, arrival_month, breakdown, breakdown_value
)

select * from final
