{#- Fails with one row per key combination that occurs more than once (nulls included).
    `window` ({column: c[, period: week|month]}, see row_rules.sql) checks only the rows of the
    run's window; c must be one of the key columns, so no duplicate can span the window's edge. -#}
{% test unique_grain(model, columns, window=none) %}
{{ config(meta={'description': 'No key of the table\'s grain (e.g. day and team) occurs twice.'}) }}
{%- if window is not none and window.get('column') not in columns -%}
    {{ exceptions.raise_compiler_error("unique_grain on " ~ model ~ ": the window column must be part of the grain " ~ columns) }}
{%- endif %}
select
    {{ columns | join(', ') }},
    count(*) as occurrences
from {{ model }}
where {{ sla_test_window_predicate(window) }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
