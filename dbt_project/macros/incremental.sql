{#- Incremental helpers for any plugin's models. A nightly run looks up, before its query runs, the
    watermark (the latest load already built into the model) and the values touched by rows landed since,
    and writes them into the query as constants: DuckDB prunes landed Parquet files and the fact's row
    groups on constants, not on a subquery's result, so the work follows the new day, not the history.
    Call inside `{% if is_incremental() and execute %}`. -#}

{#- The latest `column` in `relation` (the model's `this`), or none when it is empty. -#}
{% macro kpo_watermark(relation, column) %}
    {{ return(run_query("select max(" ~ column ~ ") from " ~ relation).columns[0].values()[0]) }}
{% endmacro %}

{#- The distinct values of `expression`, as text in order, over the rows of `relation` landed after
    `watermark` (every row when it is none). With `key`, over every landed version of the keys landed since:
    a correction can move a row (an attendance to another day), and the value it leaves needs recomputing
    as much as the one it joins. -#}
{% macro kpo_values_landed_since(relation, expression, watermark, loaded_column='loaded_at', key=none) %}
    {%- set landed_since = loaded_column ~ " > timestamp '" ~ watermark ~ "'" %}
    {%- set query %}
        select distinct {{ expression }} as touched from {{ relation }}
        {%- if watermark is not none and key is not none %}
        where {{ key }} in (select {{ key }} from {{ relation }} where {{ landed_since }})
        {%- elif watermark is not none %}
        where {{ landed_since }}
        {%- endif %}
        order by touched
    {%- endset %}
    {{ return(run_query(query).columns[0].values() | map('string') | list) }}
{% endmacro %}

{#- Dates given as text, as a SQL list of date literals. -#}
{% macro kpo_date_list(dates) %}
    {%- for day in dates %}date '{{ day }}'{{ ", " if not loop.last }}{% endfor %}
{%- endmacro %}
