with

sites as (
    select * from {{ ref('sites') }}
),

final as (
    select
        site_code,
        site_name,
        has_emergency_department
    from sites
)

select * from final
