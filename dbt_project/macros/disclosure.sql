{#- Disclosure control for counts that leave the trust (DOMAIN.md, share pack): counts of 1-7 are
    suppressed (null); every other count is rounded to the nearest 5, half up (8 -> 10, 12 -> 10,
    13 -> 15, 7.5 -> 10), never banker's rounding. Zero stays zero: it discloses no one.
    DOMAIN.md suppresses 1-7 below trust level and rounds trust-wide counts; rounding a trust-wide 3 gives
    5, which the share pack must not carry (no count between 1 and 7 at all), so small trust-wide counts
    are suppressed too - the stricter reading. -#}
{% macro disclose_count(count_column) %}
    case
        when {{ count_column }} is null then null
        when {{ count_column }} >= 1 and {{ count_column }} <= 7 then null
        else floor(({{ count_column }} + 2.5) / 5) * 5
    end
{% endmacro %}
