{#-
  Every per-row rule of a model in one query (our own generic test: dbt packages such as
  dbt_utils cannot be installed here). Fails with one row per (row, broken rule): `rule` names
  the rule, e.g. `not_null(team_name)`, `range(sla_attainment, 0, 1)` or an expression's name,
  followed by the row's columns.

    not_null:        [column, ...]                 the column is never null
    non_negative:    [column, ...]                 a non-null value is >= 0
    ranges:          {column: [min, max], ...}     a non-null value lies in [min, max]; a null
                                                   bound is open
    accepted_values: {column: [value, ...], ...}   a non-null value is one of these
    expressions:     {name: SQL boolean, ...}      true on every row (false or null fails)
    window:          {column: c[, period: week|month]}
                     scan only the rows the run (re)built: c inside the min_date..max_date window,
                     widened to whole periods for a rollup (macros/sla_window.sql). Without the
                     vars, or without `window`, every row is checked.
-#}
{% test row_rules(model, not_null=[], non_negative=[], ranges={}, accepted_values={}, expressions={}, window=none) %}
{{ config(meta={'description': 'Every per-row rule of the table: required columns, counts and shares in range, and counts that add up (states, SLA statuses). A failure lists each broken row with the rule it broke (dbt show --select <check name>).'}) }}
{%- set rules = [] -%}
{%- for column in not_null -%}
    {%- do rules.append(('not_null(' ~ column ~ ')', column ~ ' is null')) -%}
{%- endfor -%}
{%- for column in non_negative -%}
    {%- do rules.append(('non_negative(' ~ column ~ ')', column ~ ' < 0')) -%}
{%- endfor -%}
{%- for column, bounds in ranges.items() -%}
    {%- if bounds | length != 2 -%}
        {{ exceptions.raise_compiler_error("row_rules: ranges." ~ column ~ " must be [min, max], got " ~ bounds) }}
    {%- endif -%}
    {%- set outside = [] -%}
    {%- if bounds[0] is not none -%}{%- do outside.append(column ~ ' < ' ~ bounds[0]) -%}{%- endif -%}
    {%- if bounds[1] is not none -%}{%- do outside.append(column ~ ' > ' ~ bounds[1]) -%}{%- endif -%}
    {%- set shown = [] -%}
    {%- for bound in bounds -%}{%- do shown.append('null' if bound is none else bound | string) -%}{%- endfor -%}
    {%- do rules.append(('range(' ~ column ~ ', ' ~ shown | join(', ') ~ ')', '(' ~ (outside | join(' or ') or '1 = 0') ~ ')')) -%}
{%- endfor -%}
{%- for column, values in accepted_values.items() -%}
    {%- set quoted = [] -%}
    {%- for value in values -%}{%- do quoted.append("'" ~ (value | string | replace("'", "''")) ~ "'") -%}{%- endfor -%}
    {%- do rules.append(('accepted_values(' ~ column ~ ')', column ~ ' not in (' ~ quoted | join(', ') ~ ')')) -%}
{%- endfor -%}
{%- for name, expression in expressions.items() -%}
    {%- do rules.append((name, 'not coalesce((' ~ expression ~ '), false)')) -%}
{%- endfor -%}
{%- if rules | length == 0 -%}
    {{ exceptions.raise_compiler_error("row_rules on " ~ model ~ " declares no rule") }}
{%- endif %}
with scoped as (
    select * from {{ model }}
    where {{ sla_test_window_predicate(window) }}
)
{% for name, failure in rules %}
{%- if not loop.first %}
union all
{% endif -%}
select '{{ name | replace("'", "''") }}' as rule, scoped.* from scoped where {{ failure }}
{%- endfor %}
{% endtest %}
