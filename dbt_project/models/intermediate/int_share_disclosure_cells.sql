-- Disclosure control of every count the share pack publishes, cell by cell (macro disclosure_cells, which
-- share_metric_monthly uses too): kept as a table so that its fixed point is tested, and so that the trust
-- can see why each blank is blank (primary or secondary suppression).
{{ config(materialized='table') }}

with

cells as (
    {{ disclosure_cells(ref('mart_metric_monthly'), ref('dim_metrics')) }}
)

select * from cells
