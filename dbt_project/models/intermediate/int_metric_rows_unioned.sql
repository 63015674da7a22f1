-- Every plugin's monthly metric rows in one relation. The list of models comes from the registry at
-- assembly time (var kpo_metric_models), so adding a plugin never edits this file.
with

unioned as (
    {{ union_metric_rows(var('kpo_metric_models'), 'period_month') }}
),

final as (
    select * from unioned
)

select * from final
