{#-
  The (re)build window of the SLA marts: vars `min_date` and `max_date`, inclusive local
  days as 'YYYY-MM-DD' (YAML dates given unquoted on the command line work too).

  sla_window()               -> none when both vars are absent, else
                                {'min_date': 'YYYY-MM-DD', 'max_date': 'YYYY-MM-DD'};
                                a compiler error for half a window, a malformed date or
                                min_date > max_date.
  sla_window_predicate(col)  -> SQL predicate `col` inside the window ('1 = 1' without one).
  sla_source_filter(col)     -> `where ...` restricting an incremental run's input to the
                                window; empty on a first build / --full-refresh / no window.
  sla_delete_window()        -> pre-hook of the marts: on an incremental run, delete every
                                existing row of the window (all rows without a window), so
                                the run replaces exactly those days, including days whose
                                facts vanished. Runs inside the model's transaction.
-#}

{% macro sla_window() -%}
    {%- set bounds = {} -%}
    {%- for name in ['min_date', 'max_date'] -%}
        {%- set value = var(name, none) -%}
        {%- if value is not none and (value | string | trim) != '' -%}
            {%- set text = value | string | trim -%}
            {%- if not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', text) -%}
                {{ exceptions.raise_compiler_error("var " ~ name ~ " must be a date 'YYYY-MM-DD', got '" ~ text ~ "'") }}
            {%- endif -%}
            {#- strptime also rejects impossible days such as 2025-02-30 -#}
            {%- set parsed = modules.datetime.datetime.strptime(text, '%Y-%m-%d') -%}
            {%- do bounds.update({name: text}) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if bounds | length == 0 -%}
        {{ return(none) }}
    {%- elif bounds | length == 1 -%}
        {{ exceptions.raise_compiler_error("give both vars min_date and max_date ('YYYY-MM-DD') or neither; got " ~ bounds) }}
    {%- elif bounds['min_date'] > bounds['max_date'] -%}
        {{ exceptions.raise_compiler_error("min_date " ~ bounds['min_date'] ~ " is after max_date " ~ bounds['max_date']) }}
    {%- endif -%}
    {{ return(bounds) }}
{%- endmacro %}

{% macro sla_window_predicate(column) -%}
    {%- set window = sla_window() -%}
    {%- if window is none -%}
        1 = 1
    {%- else -%}
        {{ column }} between cast('{{ window["min_date"] }}' as date) and cast('{{ window["max_date"] }}' as date)
    {%- endif -%}
{%- endmacro %}

{% macro sla_source_filter(column) -%}
    {%- if is_incremental() and sla_window() is not none -%}
        where {{ sla_window_predicate(column) }}
    {%- endif -%}
{%- endmacro %}

{% macro sla_delete_window() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ sla_window_predicate('partition_date') }}
    {%- endif -%}
{%- endmacro %}
