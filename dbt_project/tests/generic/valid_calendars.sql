{#-
  The calendars of the business clock (seeds/sla_calendars.csv) are well formed: every row names its
  calendar, an IANA zone the warehouse knows (one per calendar), a weekday 1..7 and HH:MM times, and
  no two intervals of a calendar overlap, an interval running past midnight included. A bad row
  stops the build with one error naming each problem and its fix (macros/calendar_checks.sql),
  before any SLA model reads the calendars.
-#}
{% test valid_calendars(model) %}
{%- if execute and load_relation(model) is not none -%}
    {%- set rows = sla_seed_rows(model, ['calendar', 'timezone', 'weekday', 'opens', 'closes']) -%}
    {%- set unknown = run_query(
        'select distinct timezone from ' ~ model ~ ' where timezone is not null and timezone not in ('
        ~ time_zone_names() ~ ')').columns[0].values() | list -%}
    {{ sla_raise_problems('sla_calendars.csv', sla_calendar_problems(rows, unknown)) }}
{%- endif %}
-- every problem was raised while this test compiled; nothing is left to return
select * from {{ model }} where 1 = 0
{% endtest %}
