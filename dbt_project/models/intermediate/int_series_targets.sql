-- The target of each metric series a project owns: a project states the target for its own series (the
-- paediatric cardiac RPIW aims at 5 % avoidable cancellations, while the metric's own target, the
-- bronchoscopy project's, is 0 %). When two projects own one series, the later intervention's target holds.
-- The marts take it before the metric's target, so the chart, its assurance icon and the project's
-- re-measure judge a project's series against one target.
with

projects as (
    select * from {{ ref('dim_projects') }}
),

final as (
    select
        metric_id,
        series_key,
        target
    from projects
    where target is not null
    qualify row_number() over (
        partition by metric_id, series_key order by intervention_date desc, project_id asc
    ) = 1
)

select * from final
