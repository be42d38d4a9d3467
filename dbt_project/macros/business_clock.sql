{#-
  Pieces of the business clock of conversation_sla (docs/SLA.md, "The business clock").

  minutes_after_midnight(hhmm)      -> SQL: 'HH:MM' as minutes after local midnight ('24:00' = 1440).
  business_clock_reading(step, at)  -> SQL: B(at), the calendar's open microseconds up to instant
                                       `at`, read from the clock step `step` holding it.
  sla_extra_holidays()              -> the closures of JELOU_SLA_EXTRA_HOLIDAYS, as a list of
                                       {'calendar': name, 'date': 'YYYY-MM-DD'}; a compiler error
                                       naming the item and the expected form when one is malformed.
  sla_extra_holidays_rows()         -> SQL: `union all select <calendar>, <date>` per such closure.
-#}

{% macro minutes_after_midnight(hhmm) -%}
    (cast(split_part(trim({{ hhmm }}), ':', 1) as integer) * 60 + cast(split_part(trim({{ hhmm }}), ':', 2) as integer))
{%- endmacro %}

{% macro business_clock_reading(step, at) -%}
    ({{ step }}.open_us_before + case when {{ step }}.is_open then {{ microseconds_between(step ~ '.starts_at', at) }} else 0 end)
{%- endmacro %}

{#- A closure decided outside the seed (the demo puts its holiday in its rolling week this way):
    JELOU_SLA_EXTRA_HOLIDAYS='Oficina Quito=2026-11-26;Oficina Quito=2026-11-27'. -#}
{% macro sla_extra_holidays() -%}
    {%- set closures = [] -%}
    {%- for item in env_var('JELOU_SLA_EXTRA_HOLIDAYS', '').split(';') if item | trim -%}
        {%- set parts = item.split('=') -%}
        {%- set day = (parts[-1] | trim) if parts | length == 2 else '' -%}
        {%- if parts | length != 2 or not (parts[0] | trim) or not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', day) -%}
            {{ exceptions.raise_compiler_error("JELOU_SLA_EXTRA_HOLIDAYS: '" ~ item ~ "' is not <calendar>=YYYY-MM-DD; separate several with ';', e.g. 'Oficina Quito=2026-11-26;Oficina Quito=2026-11-27'") }}
        {%- endif -%}
        {%- set parsed = modules.datetime.datetime.strptime(day, '%Y-%m-%d') -%}
        {%- do closures.append({'calendar': parts[0] | trim, 'date': day}) -%}
    {%- endfor -%}
    {{ return(closures) }}
{%- endmacro %}

{% macro sla_extra_holidays_rows() -%}
    {%- for closure in sla_extra_holidays() %}
    union all
    select cast('{{ closure.calendar | replace("'", "''") }}' as text) as calendar, cast('{{ closure.date }}' as text) as date
    {%- endfor %}
{%- endmacro %}
