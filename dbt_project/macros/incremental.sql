{#- Incremental helpers for any plugin's models. A nightly run looks up, before its query runs, the
    watermark (the latest load already built into the model) and the values touched by rows landed since,
    and writes them into the query as constants: DuckDB prunes landed Parquet files and the fact's row
    groups on constants, not on a subquery's result, so the work follows the new day, not the history.
    A fact filters what it reads with `kpo_landed_for_fact` (anywhere in the model); the other macros are
    called inside `{% if is_incremental() and execute %}`. -#}

{#- The latest `column` in `relation` (the model's `this`), or none when it is empty. -#}
{% macro kpo_watermark(relation, column) %}
    {{ return(run_query("select max(" ~ column ~ ") from " ~ relation).columns[0].values()[0]) }}
{% endmacro %}

{#- The filter keeping rows loaded after `watermark`, written as a constant DuckDB can prune on. -#}
{% macro kpo_loaded_after(watermark, loaded_column='loaded_at') -%}
    {{ loaded_column }} > timestamp '{{ watermark }}'
{%- endmacro %}

{#- Whether `relation` (an incremental model's `this`) already holds a `key` of a row of `landed` loaded after
    `watermark`. When it holds none, tonight's records have no earlier landed version (the model holds every
    key landed up to its watermark), and the history need not be read: the usual night. -#}
{% macro kpo_holds_keys_landed_since(relation, landed, key, watermark, loaded_column='loaded_at') %}
    {%- set query %}
        select count(*) from {{ relation }}
        where {{ kpo_versions_landed_since(landed, key, watermark, loaded_column) }}
    {%- endset %}
    {{ return(run_query(query).columns[0].values()[0] > 0) }}
{% endmacro %}

{#- Whether any row of `relation` loaded after `watermark` satisfies `condition`. -#}
{% macro kpo_any_loaded_since(relation, condition, watermark, loaded_column='loaded_at') %}
    {%- set query %}
        select count(*) from {{ relation }}
        where {{ kpo_loaded_after(watermark, loaded_column) }} and ({{ condition }})
    {%- endset %}
    {{ return(run_query(query).columns[0].values()[0] > 0) }}
{% endmacro %}

{#- A filter on `relation` keeping every landed version of each `key` landed after `watermark` (all rows when
    it is none). An incremental fact picks the latest version among them exactly as a full refresh would,
    even when what landed tonight is an older version (a backfill re-landing an earlier load date). -#}
{% macro kpo_versions_landed_since(relation, key, watermark, loaded_column='loaded_at') -%}
    {%- if watermark is none -%}
        true
    {%- else -%}
        {{ key }} in (select {{ key }} from {{ relation }} where {{ kpo_loaded_after(watermark, loaded_column) }})
    {%- endif -%}
{%- endmacro %}

{#- The distinct values of `expression`, as text in order, over the rows of `relation` landed after
    `watermark` (every row when it is none). With `key`, over every landed version of the keys landed since:
    a correction can move a row (an attendance to another day), and the value it leaves needs recomputing
    as much as the one it joins. -#}
{% macro kpo_values_landed_since(relation, expression, watermark, loaded_column='loaded_at', key=none) %}
    {%- set query %}
        select distinct {{ expression }} as touched from {{ relation }}
        {%- if key is not none %}
        where {{ kpo_versions_landed_since(relation, key, watermark, loaded_column) }}
        {%- elif watermark is not none %}
        where {{ kpo_loaded_after(watermark, loaded_column) }}
        {%- endif %}
        order by touched
    {%- endset %}
    {{ return(run_query(query).columns[0].values() | map('string') | list) }}
{% endmacro %}

{#- Dates given as text, as a SQL list of date literals. -#}
{% macro kpo_date_list(dates) %}
    {%- for day in dates %}date '{{ day }}'{{ ", " if not loop.last }}{% endfor %}
{%- endmacro %}

{#- The filter an incremental fact reads its landed `relation` with. On a full build, or into an empty table:
    every row. On a nightly run: the rows loaded since the fact's watermark (`loaded_column` of `this`),
    widened to every landed version of their `key` when the fact already holds one of them (a correction, or
    an older version re-landed), so that the latest version wins as in a full refresh. -#}
{% macro kpo_landed_for_fact(relation, key, loaded_column='loaded_at') %}
    {%- set watermark = kpo_watermark(this, loaded_column) if is_incremental() and execute else none %}
    {%- if watermark is none %}
        {{- return('true') }}
    {%- elif kpo_holds_keys_landed_since(this, relation, key, watermark, loaded_column) %}
        {{- return(kpo_versions_landed_since(relation, key, watermark, loaded_column)) }}
    {%- endif %}
    {{- return(kpo_loaded_after(watermark, loaded_column)) }}
{% endmacro %}

{#- For an incremental statistic over a `fact` built from `landed`: the distinct values of `expression` (as
    text, in order) over the rows of `landed` loaded since the model's watermark (`watermark_column` of
    `this`; every row into an empty table). When a `fact` row loaded since then has more than one landed
    version (`versions_column`), over every landed version of tonight's `key`s instead: a correction may have
    moved a record from another value, which needs recomputing as much as the one it joins. With
    `moved_only`, none unless a record moved (only then can a value have lost every record). -#}
{% macro kpo_values_touched_since(landed, expression, key, fact, watermark_column, versions_column='landed_versions',
                                  moved_only=false) %}
    {%- set watermark = kpo_watermark(this, watermark_column) %}
    {%- set moved = watermark is not none and kpo_any_loaded_since(fact, versions_column ~ ' > 1', watermark) %}
    {%- if moved_only and not moved %}
        {{- return([]) }}
    {%- endif %}
    {{- return(kpo_values_landed_since(landed, expression, watermark, key=key if moved else none)) }}
{% endmacro %}

{#- An incremental statistic (days, months: its `unique_key` is a date) declares, in its config, where the
    values it recomputes come from:
        meta: {kpo_recompute: {landed: <staging model>, expression: <a landed row's value>, key: <record key>,
                               fact: <the fact built from it>, watermark_column: <its own latest-load column>}}
    and calls `kpo_recomputed_values()` in its query (inside `{% if is_incremental() and execute %}`) to get
    them, in order, as text; delete+insert then replaces each of those values whole. -#}
{% macro kpo_recomputed_values(moved_only=false) %}
    {%- set recompute = (config.get('meta') or {}).get('kpo_recompute') %}
    {%- if recompute is none %}
        {{- exceptions.raise_compiler_error(this ~ ": an incremental statistic declares meta.kpo_recompute "
                                            ~ "(landed, expression, key, fact, watermark_column)") }}
    {%- endif %}
    {{- return(kpo_values_touched_since(ref(recompute.landed), recompute.expression, recompute.key,
                                        ref(recompute.fact), recompute.watermark_column, moved_only=moved_only)) }}
{% endmacro %}

{#- The statistic's pre-hook (`pre_hook: "{{ kpo_clear_recomputed_values() }}"`): on a nightly run in which a
    correction moved a record, delete the values about to be recomputed. delete+insert deletes only the
    values the new rows hold, so a value that lost every record (a month's extract re-dated, say) would
    otherwise keep its old rows, which a full refresh would not have. Runs in the model's transaction. -#}
{% macro kpo_clear_recomputed_values() %}
    {%- if is_incremental() and execute %}
        {%- set values = kpo_recomputed_values(moved_only=true) %}
        {%- if values %}
            delete from {{ this }} where {{ config.get('unique_key') }} in ({{ kpo_date_list(values) }})
        {%- endif %}
    {%- endif %}
{% endmacro %}
