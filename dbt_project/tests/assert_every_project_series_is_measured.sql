{{ config(meta={'dagster': {'ref': {'name': 'dim_projects'}}}) }}
-- A project is judged on one metric series; a project whose series has no rows is misconfigured
-- (wrong metric id or series key in the projects seed), and its scorecard would silently be empty.
with

projects as (
    select * from {{ ref('dim_projects') }}
),

measured as (
    select distinct
        metric_id,
        series_key
    from {{ ref('mart_metric_monthly') }}
)

select projects.project_id
from projects
left join measured
    on
        projects.metric_id = measured.metric_id
        and projects.series_key = measured.series_key
where measured.metric_id is null
