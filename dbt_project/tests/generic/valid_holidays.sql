{#-
  The holidays of the business clock (seeds/sla_holidays.csv, and the closures of
  JELOU_SLA_EXTRA_HOLIDAYS) are real days of calendars that sla_calendars defines; a bad one stops
  the build with an error naming it and the fix (macros/calendar_checks.sql).
-#}
{% test valid_holidays(model, calendars) %}
{%- if execute and load_relation(model) is not none -%}
    {%- set rows = sla_seed_rows(model, ['calendar', 'date']) -%}
    {%- for closure in sla_extra_holidays() -%}
        {%- do rows.append({'calendar': closure.calendar, 'date': closure.date, 'source': 'JELOU_SLA_EXTRA_HOLIDAYS'}) -%}
    {%- endfor -%}
    {%- set defined = sla_seed_rows(calendars, ['calendar']) | map(attribute='calendar') | unique | list -%}
    {{ sla_raise_problems('sla_holidays.csv', sla_holiday_problems(rows, defined)) }}
{%- endif %}
-- every problem was raised while this test compiled; nothing is left to return
select * from {{ model }} where 1 = 0
{% endtest %}
