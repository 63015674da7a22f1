{%- set project_columns = [
    'project_id', 'project_name', 'csu_code', 'commitment_ids', 'metric_id', 'series_key', 'baseline_value',
    'baseline_start', 'baseline_end', 'target', 'intervention_date', 'remeasure_dates', 'description',
    'declared_by',
] %}

with

-- A row of the KPO's projects seed with a plugin project's id replaces the plugin's declaration: the seed is the
-- KPO's to edit (a project's target changed without touching its plugin).
seed_projects as (
    select
        seed.*,
        coalesce(
            'reference seed, in place of ' || declared.declared_by, 'reference seed'
        ) as declared_by
    from {{ ref('projects') }} as seed
    left join {{ ref('plugin_projects') }} as declared
        on seed.project_id = declared.project_id
),

plugin_projects as (
    select * from {{ ref('plugin_projects') }}
    where project_id not in (select seed_projects.project_id from seed_projects)
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
