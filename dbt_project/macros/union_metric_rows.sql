{#- Union the metric rows of the given plugin models (the lists come from the registry at assembly
    time), or an empty, typed relation when there are none. -#}
{% macro union_metric_rows(model_names, period_column) %}
    {%- if model_names | length == 0 %}
    select
        cast(null as varchar) as metric_id,
        cast(null as date) as {{ period_column }},
        cast(null as varchar) as breakdown,
        cast(null as varchar) as breakdown_value,
        cast(null as double) as numerator,
        cast(null as double) as denominator,
        cast(null as double) as value,
        cast(null as varchar) as source_model
    where false
    {%- else %}
    {%- for model_name in model_names %}
    select
        metric_id,
        {{ period_column }},
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
    {%- endif %}
{% endmacro %}
