-- Per project, each re-measure point - 30, 60 and 90 days after the intervention and every date the
-- project recorded - with the metric's value for the month of that date against the project baseline,
-- and whether a re-measure without data yet is upcoming, due or overdue.
{%- set as_of = var('kpo_as_of', none) %}

with

projects as (
    select * from {{ ref('dim_projects') }}
),

metrics as (
    select * from {{ ref('dim_metrics') }}
),

monthly as (
    select * from {{ ref('mart_metric_monthly') }}
),

derived as (
    -- noqa: disable=LT02
    {%- for days in [30, 60, 90] %}
    select
        project_id,
        '{{ days }} days' as remeasure,
        cast({{ dbt.dateadd('day', days, 'intervention_date') }} as date) as remeasure_date
    from projects
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
    -- noqa: enable=LT02
),

recorded as (
    select
        project_id,
        'recorded' as remeasure,
        cast({{ split_words('remeasure_dates') }} as date) as remeasure_date
    from projects
    where nullif(trim(remeasure_dates), '') is not null
),

remeasures as (
    select * from derived
    union all
    select * from recorded
),

valued as (
    select
        remeasures.project_id,
        remeasures.remeasure,
        remeasures.remeasure_date,
        projects.project_name,
        projects.metric_id,
        projects.series_key,
        projects.intervention_date,
        projects.baseline_value,
        projects.target,
        metrics.direction,
        monthly.value
    from remeasures
    inner join projects
        on remeasures.project_id = projects.project_id
    inner join metrics
        on projects.metric_id = metrics.metric_id
    left join monthly
        on
            projects.metric_id = monthly.metric_id
            and projects.series_key = monthly.series_key
            and monthly.period_month = cast({{ dbt.date_trunc('month', 'remeasures.remeasure_date') }} as date)
),

final as (
    select
        -- ids
        project_id,
        remeasure,
        remeasure_date,
        -- dimensions
        project_name,
        metric_id,
        series_key,
        intervention_date,
        direction,
        -- measures
        baseline_value,
        target,
        value,
        value - baseline_value as change_from_baseline,
        case
            when value is null or baseline_value is null or direction = 'neutral' then null
            when direction = 'decrease' then value < baseline_value
            else value > baseline_value
        end as improved_on_baseline,
        case
            when value is not null then 'measured'
            when remeasure_date > {{ "date '" ~ as_of ~ "'" if as_of else 'current_date' }} then 'upcoming'
            when {{ dbt.datediff('remeasure_date', ("date '" ~ as_of ~ "'") if as_of else 'current_date', 'day') }} <= 31
                then 'due'
            else 'overdue'
        end as status
    from valued
)

select * from final
