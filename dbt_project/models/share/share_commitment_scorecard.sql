-- The commitment scorecard for partners. Its counts are of SPC series, not of patients or staff, so no
-- disclosure rule applies; it is copied so the share pack is complete on its own.
with

scorecard as (
    select * from {{ ref('mart_commitment_scorecard') }}
),

final as (
    select * from scorecard
)

select * from final
