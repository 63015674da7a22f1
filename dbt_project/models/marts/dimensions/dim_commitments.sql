with

commitments as (
    select * from {{ ref('commitments') }}
),

final as (
    select
        commitment_id,
        commitment_name,
        description,
        executive_lead,
        year as commitment_year
    from commitments
)

select * from final
