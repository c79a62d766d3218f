{#- One row per combination of `columns` (a model's key with source_relation). -#}
{% test contactship_unique(model, columns) %}
select {{ columns | join(', ') }}, count(*) as rows_for_the_key
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
