{#- Disclosure control for counts that leave the trust (DOMAIN.md, share pack): sub-trust counts of 1-7
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
