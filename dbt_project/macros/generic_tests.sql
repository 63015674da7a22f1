{#- Generic tests the project needs without dbt packages (the dbt hub is not reachable offline). -#}

{% test kpo_unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as occurrences
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}

{% test kpo_expression_is_true(model, expression) %}
select *
from {{ model }}
where not coalesce(({{ expression }}), false)
{% endtest %}

{% test kpo_column_satisfies(model, column_name, expression) %}
select *
from {{ model }}
where {{ column_name }} is not null and not ({{ column_name }} {{ expression }})
{% endtest %}
