{#- Fails with one row per key combination that occurs more than once (nulls included). -#}
{% test unique_grain(model, columns) %}
select
    {{ columns | join(', ') }},
    count(*) as occurrences
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
