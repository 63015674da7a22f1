-- noqa: disable=LT02
-- Every plugin's metric rows in one relation. The list of models comes from the registry at assembly
-- time (var kpo_metric_models), so adding a plugin never edits this file.
{%- set metric_models = var('kpo_metric_models') %}

with

{% if metric_models | length == 0 %}
unioned as (
    select
        cast(null as varchar) as metric_id,
        cast(null as date) as period_month,
        cast(null as varchar) as breakdown,
        cast(null as varchar) as breakdown_value,
        cast(null as double) as numerator,
        cast(null as double) as denominator,
        cast(null as double) as value,
        cast(null as varchar) as source_model
    where false
),
{% else %}
unioned as (
    {%- for model_name in metric_models %}
    select
        metric_id,
        period_month,
        breakdown,
        breakdown_value,
        numerator,
        denominator,
        value,
        '{{ model_name }}' as source_model
    from {{ ref(model_name) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),
{% endif %}

final as (
    select * from unioned
)

select * from final
