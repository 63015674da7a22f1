-- The metric registry: what every plugin declares, with the KPO's overrides from metric_settings.
with

registry as (
    select * from {{ ref('metric_registry') }}
),

overrides as (
    select * from {{ ref('metric_settings') }}
),

final as (
    select
        registry.metric_id,
        registry.metric_name,
        registry.description,
        registry.unit,
        registry.kind,
        registry.direction,
        registry.project_id,
        registry.primary_commitment_id,
        coalesce(overrides.target, registry.target) as target,
        coalesce(overrides.baseline_points, registry.baseline_points) as baseline_points,
        coalesce(overrides.shift_run, registry.shift_run) as shift_run,
        coalesce(overrides.trend_run, registry.trend_run) as trend_run,
        coalesce(overrides.screen_moving_ranges, registry.screen_moving_ranges) as screen_moving_ranges,
        registry.plugin,
        registry.plugin_version,
        registry.part_of_metric_id
    from registry
    left join overrides
        on registry.metric_id = overrides.metric_id
)

select * from final
