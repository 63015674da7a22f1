{{ config(meta={'dagster': {'ref': {'name': 'dim_projects'}}}) }}
-- A project is judged on one metric series. When its metric is measured but not in the project's series, the
-- project is misconfigured (a wrong series key in the projects seed or the plugin's declaration) and its
-- scorecard would silently be empty. A metric with no measurements at all is another matter: its source has
-- not delivered yet (a plugin added before its first extract), which assert_every_project_metric_has_data
-- reports as a warning, so that one late source does not stop the trust's publication.
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

select
    projects.project_id,
    projects.metric_id,
    projects.series_key
from projects
left join measured
    on
        projects.metric_id = measured.metric_id
        and projects.series_key = measured.series_key
where
    measured.metric_id is null
    and projects.metric_id in (select measured.metric_id from measured)
