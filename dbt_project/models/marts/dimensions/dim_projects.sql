{%- set project_columns = [
    'project_id', 'project_name', 'csu_code', 'commitment_ids', 'metric_id', 'series_key', 'baseline_value',
    'baseline_start', 'baseline_end', 'target', 'intervention_date', 'remeasure_dates', 'description',
    'declared_by',
] %}

with

seed_projects as (
    select
        *,
        'reference seed' as declared_by
    from {{ ref('projects') }}
),

plugin_projects as (
    select * from {{ ref('plugin_projects') }}
),

unioned as (
    select
        {{ project_columns | join(',\n        ') }}
    from seed_projects
    union all
    select
        {{ project_columns | join(',\n        ') }}
    from plugin_projects
),

final as (
    select
        {{ project_columns | join(',\n        ') }}
    from unioned
)

select * from final
