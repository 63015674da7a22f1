{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'dim_projects'}}}) }}
-- A project whose metric has no measurements in any series: its source has delivered nothing the metric is built
-- from yet (a plugin added before its first extract arrives), so its scorecard is empty. A warning, not an
-- error: publication goes ahead with every other source, and the warning names the project each night until
-- the data arrives. (A misspelt metric id fails dim_projects' relationships test instead, and a wrong series
-- key of a measured metric fails assert_every_project_series_is_measured.)
with

projects as (
    select * from {{ ref('dim_projects') }}
),

measured as (
    select distinct metric_id from {{ ref('mart_metric_monthly') }}
)

select
    projects.project_id,
    projects.metric_id,
    projects.series_key
from projects
where projects.metric_id not in (select measured.metric_id from measured)
