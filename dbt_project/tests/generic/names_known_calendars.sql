{#-
  Every calendar a policy names (seeds/sla_policies.csv, column `calendar`) is defined in
  sla_calendars; a missing one stops the build with an error naming the team and the fix.
-#}
{% test names_known_calendars(model, calendars) %}
{%- if execute and load_relation(model) is not none -%}
    {%- set rows = sla_seed_rows(model, ['team_name', 'calendar']) -%}
    {%- set defined = sla_seed_rows(calendars, ['calendar']) | map(attribute='calendar') | unique | list -%}
    {{ sla_raise_problems('sla_policies.csv', sla_policy_calendar_problems(rows, defined)) }}
{%- endif %}
-- every problem was raised while this test compiled; nothing is left to return
select * from {{ model }} where 1 = 0
{% endtest %}
