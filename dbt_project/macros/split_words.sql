{#- One row per space-separated word of a column (the seeds keep short lists in one cell so the KPO can
    edit them in Excel). Dispatched: DuckDB and PostgreSQL spell it differently. -#}
{% macro split_words(column) %}
    {{ return(adapter.dispatch('split_words', 'kpo')(column)) }}
{% endmacro %}

{% macro default__split_words(column) %}
    unnest(string_split(trim({{ column }}), ' '))
{% endmacro %}

{% macro postgres__split_words(column) %}
    unnest(string_to_array(trim({{ column }}), ' '))
{% endmacro %}
