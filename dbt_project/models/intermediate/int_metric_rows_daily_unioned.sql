-- Every plugin's daily metric rows (metrics that allow a daily grain), from var kpo_daily_metric_models.
with

unioned as (
    {{ union_metric_rows(var('kpo_daily_metric_models'), 'period_date') }}
),

final as (
    select * from unioned
)

select * from final
