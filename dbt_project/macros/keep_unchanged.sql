{#- Views and seeds, kept when unchanged. dbt re-creates every view and reloads every seed on every run,
    although neither changes with tonight's data: a view holds none, and a seed is a file in the project.
    Re-creating a view takes five statements and their cache bookkeeping (~0.1-0.3 s a view here); reloading
    a seed parses its CSV and inserts it again. So each is built as dbt builds it and then labelled (DuckDB's
    comment on the relation, in the build warehouse only: publication copies models into a new file with
    their descriptions) with what it was built from: a view with the md5 of its compiled SQL, a seed with the
    sha256 of its file and its column types. A later run that would build the same keeps it, and dbt reports
    KEPT. What a view reads cannot change shape under it without the dbt project or a plugin changing, and
    then kpo builds with --full-refresh, which re-creates and reloads everything. A relation with hooks is
    always rebuilt (a hook may do something every run). The label takes the place of a description that
    `persist_docs` would write on the relation (kpo does not use it: publication writes descriptions).
    dbt has no setting for this, hence adapter-specific materialisations in front of dbt's own. -#}

{%- materialization view, adapter='duckdb' -%}
    {%- set label = 'kpo view of compiled SQL md5 ' ~ local_md5(sql) -%}
    {%- if kpo_is_kept(this, 'view', label, should_full_refresh()) -%}
        {{ return({'relations': [this.incorporate(type='view')]}) }}
    {%- endif -%}
    {{ return(kpo_labelled(dbt.materialization_view_default(), this, 'view', label)) }}
{%- endmaterialization -%}

{%- materialization seed, adapter='duckdb' -%}
    {#- A seed over 1 MB is checksummed by its path, not its content: never kept. Only `--full-refresh` on the
        command line counts here: dbt_project.yml sets seeds to full_refresh so that a changed file is
        recreated (its columns may have changed), which its label already tells. -#}
    {%- set label = 'kpo seed of file sha256 ' ~ model.checksum.checksum ~ ' column types md5 '
                    ~ local_md5(tojson(config.get('column_types') or {})) -%}
    {%- if model.checksum.name == 'sha256' and kpo_is_kept(this, 'table', label, flags.FULL_REFRESH) -%}
        {%- do store_result('agate_table', response='KEPT') -%}
        {{ return({'relations': [this.incorporate(type='table')]}) }}
    {%- endif -%}
    {{ return(kpo_labelled(dbt.materialization_seed_default(), this, 'table', label)) }}
{%- endmaterialization -%}

{#- Whether `relation` already exists as a `kind` (view, table) labelled `label`, with no `full_refresh` and
    no hooks to run; if so, records the node's result as KEPT. -#}
{% macro kpo_is_kept(relation, kind, label, full_refresh) %}
    {%- set existing = load_cached_relation(relation) -%}
    {%- if existing is none or existing.type != kind or full_refresh or pre_hooks or post_hooks
           or kpo_relation_label(relation) != label -%}
        {{- return(false) }}
    {%- endif -%}
    {%- call noop_statement('main', 'KEPT (unchanged)', 'KEPT') -%}
        -- {{ relation }}: already built from the same definition
    {%- endcall -%}
    {{- return(true) }}
{% endmacro %}

{#- Label the `kind` `relation` that dbt's materialisation just built (returning `relations`). A crash before
    the label leaves it unlabelled, so the next run builds it again. -#}
{% macro kpo_labelled(relations, relation, kind, label) %}
    {%- call statement('kpo_label', auto_begin=True) -%}
        comment on {{ kind }} {{ relation }} is '{{ label }}'
    {%- endcall -%}
    {%- do adapter.commit() -%}
    {{- return(relations) }}
{% endmacro %}

{#- The comment on view or table `relation`, or none. -#}
{% macro kpo_relation_label(relation) %}
    {%- set query %}
        select comment from duckdb_views()
        where database_name = '{{ relation.database }}' and schema_name = '{{ relation.schema }}'
            and view_name = '{{ relation.identifier }}'
        union all
        select comment from duckdb_tables()
        where database_name = '{{ relation.database }}' and schema_name = '{{ relation.schema }}'
            and table_name = '{{ relation.identifier }}'
    {%- endset %}
    {%- set found = run_query(query).columns[0].values() %}
    {{- return(found[0] if found else none) }}
{% endmacro %}
