{#- Union the metric rows of the given plugin models (the lists come from the registry at assembly
    time), or an empty, typed relation when there are none. `parent_series_key` is optional: a model that
    has it names the series each row nests in below trust level (a specialty's CSU, for disclosure
    control's differencing check); a model without it reads null (each series nests in the trust only). -#}
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
        cast(null as varchar) as parent_series_key,
        cast(null as varchar) as source_model
    where false
    {%- else %}
    {%- for model_name in model_names %}
    {%- set columns = adapter.get_columns_in_relation(ref(model_name)) if execute else [] %}
    select
        metric_id,
        {{ period_column }},
        breakdown,
        breakdown_value,
        numerator,
        denominator,
        value,
        {% if 'parent_series_key' in columns | map(attribute='name') | map('lower') | list -%}
        cast(parent_series_key as varchar)
        {%- else -%}
        cast(null as varchar)
        {%- endif %} as parent_series_key,
        '{{ model_name }}' as source_model
    from {{ ref(model_name) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
    {%- endif %}
{% endmacro %}
