{#- Disclosure control for counts that leave the trust (docs/disclosure.md): sub-trust counts of 1-7
    are suppressed (null); every other count, trust-wide ones included, is rounded to the nearest 5, half up
    (8 -> 10, 12 -> 10, 13 -> 15, 7.5 -> 10; a trust-wide 3 -> 5 and 2 -> 0), never banker's rounding.
    Zero stays zero: it discloses no one. `trust_wide` is SQL true for a trust-wide row. -#}
{% macro disclose_count(count_column, trust_wide) %}
    case
        when {{ count_column }} is null then null
        when not ({{ trust_wide }}) and {{ count_column }} >= 1 and {{ count_column }} <= 7 then null
        else floor(({{ count_column }} + 2.5) / 5) * 5
    end
{% endmacro %}

{#- disclosure_cells: disclosure control of every count the share pack publishes (docs/disclosure.md): one row per count cell
    (a numerator or a denominator of a metric, series and month) with its rounded value and whether it is
    published, suppressed by the primary rule (a count of 1-7 below trust level) or suppressed to protect
    another cell (secondary suppression).

    Each cell belongs to groups of a parent and its parts, which a partner could difference:
      - the trust-wide series over the series of each breakdown (sites, CSUs, specialties, courses, ...);
      - a series over the series that name it as parent (a CSU over its specialties: parent_series_key);
      - a metric's cell over the same cell of a metric declared part of it (a department over a unit inside
        it: dim_metrics.part_of_metric_id);
      - a rate's denominator over its numerator.
    A group is exhaustive when its parts add up to its parent exactly (sites of the trust); otherwise the parts
    leave an unpublished remainder (the department minus its unit) and only parts <= parent holds.

    A published count c means the true count is in [c-2, c+2] (rounded to 5, half up), except that a zero below
    trust level is exact; a primary blank is in [1, 7]; a secondary blank below trust level is 8 or more (zeros
    are never suppressed: they disclose no one), a trust-wide one anything. Each pass takes every group in
    which the interval arithmetic of that one group pins a suppressed member to fewer than 3 values (or
    contradicts it) and suppresses one more member: its smallest published non-zero part, or, when none is
    left, its parent. The passes are a bounded Jinja loop (portable SQL, no recursion); the column
    `would_suppress_next_pass` (int_share_disclosure_cells tests it is never true) shows the loop reached
    its fixed point.
    The share pack's differencing test (tests/integration/test_share_disclosure.py) is the referee: it
    propagates intervals over all groups together until nothing moves, independently of this model. -#}
{% macro disclosure_cells(monthly_relation, metrics_relation, passes=8) %}

{%- set unbounded = 1000000000 %}
{%- set min_values = 3 %}

with

monthly as (
    select * from {{ monthly_relation }}
),

metrics as (
    select * from {{ metrics_relation }}
),

measured as (
    select
        monthly.metric_id,
        monthly.series_key,
        monthly.period_month,
        monthly.breakdown,
        monthly.parent_series_key,
        metrics.part_of_metric_id,
        monthly.numerator,
        monthly.denominator,
        -- a metric that is part of another measures a unit inside the trust: its trust row is sub-trust too
        not monthly.is_trust_wide or metrics.part_of_metric_id is not null as is_sub_trust
    from monthly
    inner join metrics
        on monthly.metric_id = metrics.metric_id
),

cells as (
    select
        metric_id,
        'numerator' as measure,
        series_key,
        period_month,
        breakdown,
        parent_series_key,
        part_of_metric_id,
        is_sub_trust,
        numerator as exact_count
    from measured
    where numerator is not null
    union all
    select
        metric_id,
        'denominator' as measure,
        series_key,
        period_month,
        breakdown,
        parent_series_key,
        part_of_metric_id,
        is_sub_trust,
        denominator as exact_count
    from measured
    where denominator is not null
),

primary_rule as (
    select
        *,
        {{ disclose_count('exact_count', 'not is_sub_trust') }} as rounded_count,
        case
            when is_sub_trust and exact_count >= 1 and exact_count <= 7 then 'primary' else 'published'
        end as state_0
    from cells
),

-- each group is keyed by its parent cell (metric, measure, series, month) and a label for the set of parts
parts as (
    select
        metric_id as group_metric_id,
        measure as group_measure,
        'trust' as group_series_key,
        'breakdown:' || breakdown as group_label,
        period_month,
        metric_id,
        measure,
        series_key
    from cells
    where breakdown <> 'trust'
    union all
    select
        metric_id as group_metric_id,
        measure as group_measure,
        parent_series_key as group_series_key,
        'breakdown:' || breakdown as group_label,
        period_month,
        metric_id,
        measure,
        series_key
    from cells
    where parent_series_key is not null
    union all
    select
        part_of_metric_id as group_metric_id,
        measure as group_measure,
        series_key as group_series_key,
        'part:' || metric_id as group_label,
        period_month,
        metric_id,
        measure,
        series_key
    from cells
    where part_of_metric_id is not null
    union all
    select
        metric_id as group_metric_id,
        'denominator' as group_measure,
        series_key as group_series_key,
        'numerator' as group_label,
        period_month,
        metric_id,
        measure,
        series_key
    from cells
    where measure = 'numerator'
),

members as (
    select
        parts.group_metric_id,
        parts.group_measure,
        parts.group_series_key,
        parts.group_label,
        parts.period_month,
        'part' as member_role,
        parts.metric_id,
        parts.measure,
        parts.series_key
    from parts
    -- a group whose parent is not published as a count (no such cell) has nothing to difference against
    inner join cells as parent_cell
        on
            parts.group_metric_id = parent_cell.metric_id
            and parts.group_measure = parent_cell.measure
            and parts.group_series_key = parent_cell.series_key
            and parts.period_month = parent_cell.period_month
    union all
    select distinct
        group_metric_id,
        group_measure,
        group_series_key,
        group_label,
        period_month,
        'parent' as member_role,
        group_metric_id as metric_id,
        group_measure as measure,
        group_series_key as series_key
    from parts
),

member_counts as (
    select
        members.*,
        primary_rule.exact_count
    from members
    inner join primary_rule
        on
            members.metric_id = primary_rule.metric_id
            and members.measure = primary_rule.measure
            and members.series_key = primary_rule.series_key
            and members.period_month = primary_rule.period_month
),

exhaustive_groups as (
    select
        group_metric_id,
        group_measure,
        group_series_key,
        group_label,
        period_month,
        sum(case when member_role = 'part' then exact_count end)
        = max(case when member_role = 'parent' then exact_count end) as is_exhaustive
    from member_counts
    group by group_metric_id, group_measure, group_series_key, group_label, period_month
    having count(case when member_role = 'part' then 1 end) > 0
),

{%- for i in range(passes + 1) %}

-- pass {{ i }}: what a partner knows of each cell under the states so far
intervals_{{ i }} as (
    select
        metric_id,
        measure,
        series_key,
        period_month,
        exact_count,
        state_{{ i }} as cell_state,
        case
            when state_{{ i }} = 'primary' then 1
            when state_{{ i }} = 'secondary' and is_sub_trust then 8
            when state_{{ i }} = 'secondary' then 0
            when is_sub_trust and rounded_count = 0 then 0
            else greatest(rounded_count - 2, 0)
        end as low,
        case
            when state_{{ i }} = 'primary' then 7
            when state_{{ i }} = 'secondary' then {{ unbounded }}
            when is_sub_trust and rounded_count = 0 then 0
            else rounded_count + 2
        end as high
    from {% if i == 0 %}primary_rule{% else %}states_{{ i }}{% endif %}
),

bounded_{{ i }} as (
    select
        member_counts.group_metric_id,
        member_counts.group_measure,
        member_counts.group_series_key,
        member_counts.group_label,
        member_counts.period_month,
        member_counts.member_role,
        member_counts.metric_id,
        member_counts.measure,
        member_counts.series_key,
        member_counts.exact_count,
        intervals_{{ i }}.cell_state,
        intervals_{{ i }}.low,
        intervals_{{ i }}.high,
        exhaustive_groups.is_exhaustive,
        max(case when member_counts.member_role = 'parent' then intervals_{{ i }}.low end) over (group_window) as parent_low,
        max(case when member_counts.member_role = 'parent' then intervals_{{ i }}.high end) over (group_window) as parent_high,
        sum(case when member_counts.member_role = 'part' then intervals_{{ i }}.low end) over (group_window) as parts_low,
        sum(case when member_counts.member_role = 'part' then intervals_{{ i }}.high end) over (group_window) as parts_high
    from member_counts
    inner join exhaustive_groups
        on
            member_counts.group_metric_id = exhaustive_groups.group_metric_id
            and member_counts.group_measure = exhaustive_groups.group_measure
            and member_counts.group_series_key = exhaustive_groups.group_series_key
            and member_counts.group_label = exhaustive_groups.group_label
            and member_counts.period_month = exhaustive_groups.period_month
    inner join intervals_{{ i }}
        on
            member_counts.metric_id = intervals_{{ i }}.metric_id
            and member_counts.measure = intervals_{{ i }}.measure
            and member_counts.series_key = intervals_{{ i }}.series_key
            and member_counts.period_month = intervals_{{ i }}.period_month
    window group_window as (
        partition by
            member_counts.group_metric_id, member_counts.group_measure, member_counts.group_series_key,
            member_counts.group_label, member_counts.period_month
    )
),

-- the values one group leaves a suppressed member: a part lies between the parent's bounds less the other
-- parts' (the lower bound only when the parts are exhaustive); a parent between the parts' sums
judged_{{ i }} as (
    select
        *,
        case
            when cell_state = 'published' then null
            when member_role = 'part' then
                least(high, parent_high - (parts_low - low))
                - greatest(low, case when is_exhaustive then parent_low - (parts_high - high) else low end)
                + 1
            else
                least(high, case when is_exhaustive then parts_high else high end)
                - greatest(low, parts_low)
                + 1
        end as values_left
    from bounded_{{ i }}
),

exposed_groups_{{ i }} as (
    select distinct
        group_metric_id,
        group_measure,
        group_series_key,
        group_label,
        period_month
    from judged_{{ i }}
    where values_left < {{ min_values }}
),

-- in each exposed group, its smallest published non-zero part, else its parent
candidates_{{ i }} as (
    select
        judged_{{ i }}.metric_id,
        judged_{{ i }}.measure,
        judged_{{ i }}.series_key,
        judged_{{ i }}.period_month,
        row_number() over (
            partition by
                judged_{{ i }}.group_metric_id, judged_{{ i }}.group_measure, judged_{{ i }}.group_series_key,
                judged_{{ i }}.group_label, judged_{{ i }}.period_month
            order by
                case when judged_{{ i }}.member_role = 'part' then 0 else 1 end,
                judged_{{ i }}.exact_count,
                judged_{{ i }}.series_key,
                judged_{{ i }}.metric_id
        ) as preference
    from judged_{{ i }}
    inner join exposed_groups_{{ i }}
        on
            judged_{{ i }}.group_metric_id = exposed_groups_{{ i }}.group_metric_id
            and judged_{{ i }}.group_measure = exposed_groups_{{ i }}.group_measure
            and judged_{{ i }}.group_series_key = exposed_groups_{{ i }}.group_series_key
            and judged_{{ i }}.group_label = exposed_groups_{{ i }}.group_label
            and judged_{{ i }}.period_month = exposed_groups_{{ i }}.period_month
    where judged_{{ i }}.cell_state = 'published' and judged_{{ i }}.exact_count > 0
),

chosen_{{ i }} as (
    select distinct
        metric_id,
        measure,
        series_key,
        period_month
    from candidates_{{ i }}
    where preference = 1
),

states_{{ i + 1 }} as (
    select
        primary_rule.*,
        case
            when chosen_{{ i }}.metric_id is not null then 'secondary'
            else {% if i == 0 %}primary_rule.state_0{% else %}states_{{ i }}.state_{{ i }}{% endif %}
        end as state_{{ i + 1 }}
    from {% if i == 0 %}primary_rule{% else %}states_{{ i }}
    inner join primary_rule
        on
            states_{{ i }}.metric_id = primary_rule.metric_id
            and states_{{ i }}.measure = primary_rule.measure
            and states_{{ i }}.series_key = primary_rule.series_key
            and states_{{ i }}.period_month = primary_rule.period_month{% endif %}
    left join chosen_{{ i }}
        on
            primary_rule.metric_id = chosen_{{ i }}.metric_id
            and primary_rule.measure = chosen_{{ i }}.measure
            and primary_rule.series_key = chosen_{{ i }}.series_key
            and primary_rule.period_month = chosen_{{ i }}.period_month
),
{%- endfor %}

final as (
    select
        states_{{ passes }}.metric_id,
        states_{{ passes }}.measure,
        states_{{ passes }}.series_key,
        states_{{ passes }}.period_month,
        states_{{ passes }}.is_sub_trust,
        states_{{ passes }}.state_{{ passes }} as disclosure,
        case when states_{{ passes }}.state_{{ passes }} = 'published' then states_{{ passes }}.rounded_count end as shared_count,
        -- one more pass would suppress this cell: the loop stopped before its fixed point (tested never true)
        states_{{ passes + 1 }}.state_{{ passes + 1 }} <> states_{{ passes }}.state_{{ passes }} as would_suppress_next_pass
    from states_{{ passes }}
    inner join states_{{ passes + 1 }}
        on
            states_{{ passes }}.metric_id = states_{{ passes + 1 }}.metric_id
            and states_{{ passes }}.measure = states_{{ passes + 1 }}.measure
            and states_{{ passes }}.series_key = states_{{ passes + 1 }}.series_key
            and states_{{ passes }}.period_month = states_{{ passes + 1 }}.period_month
)

select * from final
{% endmacro %}
