-- Which commitment(s) each metric serves: a metric may serve several.
with

metric_commitments as (
    select * from {{ ref('metric_commitments') }}
),

final as (
    select
        metric_id,
        commitment_id
    from metric_commitments
)

select * from final
