-- Which commitment(s) each project serves (the projects seed lists them in one cell).
with

projects as (
    select * from {{ ref('dim_projects') }}
),

exploded as (
    select
        project_id,
        {{ split_words('commitment_ids') }} as commitment_id
    from projects
    where commitment_ids is not null
),

final as (
    select distinct
        project_id,
        commitment_id
    from exploded
    where commitment_id <> ''
)

select * from final
