-- The executive view: per annual commitment, its metrics and projects, and how their SPC series stand
-- now - variation (improvement, concern, common cause) and assurance against target (Making Data Count).
with

commitments as (
    select * from {{ ref('dim_commitments') }}
),

metric_commitments as (
    select * from {{ ref('dim_metric_commitments') }}
),

project_commitments as (
    select * from {{ ref('dim_project_commitments') }}
),

projects as (
    select * from {{ ref('dim_projects') }}
),

summary as (
    select * from {{ ref('mart_metric_summary') }}
),

metric_lists as (
    select
        commitment_id,
        count(*) as metrics,
        {{ dbt.listagg('metric_id', "', '", 'order by metric_id') }} as metric_ids
    from metric_commitments
    group by commitment_id
),

project_lists as (
    select
        project_commitments.commitment_id,
        count(*) as projects,
        {{ dbt.listagg('projects.project_name', "'; '", 'order by projects.project_name') }} as project_names
    from project_commitments
    inner join projects
        on project_commitments.project_id = projects.project_id
    group by project_commitments.commitment_id
),

series_counts as (
    select
        metric_commitments.commitment_id,
        count(*) as series,
        sum(case when summary.variation_icon like 'improvement%' then 1 else 0 end) as series_improvement,
        sum(case when summary.variation_icon like 'concern%' then 1 else 0 end) as series_concern,
        sum(case when summary.variation_icon like 'neutral%' then 1 else 0 end) as series_neutral,
        sum(case when summary.variation_icon = 'common_cause' then 1 else 0 end) as series_common_cause,
        sum(case when summary.assurance_icon = 'pass' then 1 else 0 end) as series_consistently_passing,
        sum(case when summary.assurance_icon = 'fail' then 1 else 0 end) as series_consistently_failing,
        sum(case when summary.assurance_icon = 'hit_and_miss' then 1 else 0 end) as series_hit_and_miss,
        sum(case when summary.assurance_icon is null then 1 else 0 end) as series_without_assurance
    from metric_commitments
    inner join summary
        on metric_commitments.metric_id = summary.metric_id
    group by metric_commitments.commitment_id
),

final as (
    select
        -- ids
        commitments.commitment_id,
        -- dimensions
        commitments.commitment_name,
        commitments.executive_lead,
        metric_lists.metric_ids,
        project_lists.project_names,
        -- measures
        cast(coalesce(metric_lists.metrics, 0) as integer) as metrics,
        cast(coalesce(project_lists.projects, 0) as integer) as projects,
        cast(coalesce(series_counts.series, 0) as integer) as series,
        cast(coalesce(series_counts.series_improvement, 0) as integer) as series_improvement,
        cast(coalesce(series_counts.series_concern, 0) as integer) as series_concern,
        cast(coalesce(series_counts.series_neutral, 0) as integer) as series_neutral,
        cast(coalesce(series_counts.series_common_cause, 0) as integer) as series_common_cause,
        cast(coalesce(series_counts.series_consistently_passing, 0) as integer) as series_consistently_passing,
        cast(coalesce(series_counts.series_consistently_failing, 0) as integer) as series_consistently_failing,
        cast(coalesce(series_counts.series_hit_and_miss, 0) as integer) as series_hit_and_miss,
        cast(coalesce(series_counts.series_without_assurance, 0) as integer) as series_without_assurance
    from commitments
    left join metric_lists
        on commitments.commitment_id = metric_lists.commitment_id
    left join project_lists
        on commitments.commitment_id = project_lists.commitment_id
    left join series_counts
        on commitments.commitment_id = series_counts.commitment_id
)

select * from final
