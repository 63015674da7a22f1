with

csus as (
    select * from {{ ref('csus') }}
),

final as (
    select
        csu_code,
        csu_name,
        division,
        is_clinical
    from csus
)

select * from final
