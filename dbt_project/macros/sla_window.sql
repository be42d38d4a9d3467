{#-
  The (re)build window of the SLA marts: `min_date` and `max_date`, inclusive local days as
  'YYYY-MM-DD', from the environment variables JELOU_SLA_MIN_DATE / JELOU_SLA_MAX_DATE (what
  Dagster sets: a changed variable re-parses only the files that read it, so dbt keeps partial
  parsing) or from `--vars` (by hand; YAML dates given unquoted work too; vars win).

  sla_window()               -> none when both vars are absent, else
                                {'min_date': 'YYYY-MM-DD', 'max_date': 'YYYY-MM-DD'};
                                a compiler error for half a window, a malformed date or
                                min_date > max_date.
  sla_window_predicate(col)  -> SQL predicate `col` inside the window ('1 = 1' without one).
  sla_source_filter(col)     -> `where ...` restricting an incremental run's input to the
                                window; empty on a first build / --full-refresh / no window.
  sla_delete_window(period)  -> pre-hook of the marts: on an incremental run, delete every
                                existing row of the window (all rows without a window), so
                                the run replaces exactly those days, including days whose
                                facts vanished. Runs inside the model's transaction.

  Rollups (period 'week', Monday start, or 'month', of local days) always rebuild whole
  periods: their window is widened to the periods that contain min_date and max_date.
  sla_period_start(col, period)         -> SQL: the first day of the period holding date `col`.
  sla_period_end(col, period)           -> SQL: the last day of the period starting on date `col`.
  sla_period_source_filter(col, period) -> like sla_source_filter, over the widened window.

  sla_test_window_predicate(window)     -> the rows a data test scans (tests/generic/): `window` is
                                           {'column': col} for a daily table (col inside the window),
                                           {'column': col, 'period': 'week'|'month'} for a rollup (col
                                           inside the widened window), or none (every row). '1 = 1'
                                           without the vars, so `dbt test` alone checks whole tables.
-#}

{% macro sla_window() -%}
    {%- set bounds = {} -%}
    {%- for name in ['min_date', 'max_date'] -%}
        {%- set value = var(name, none) -%}
        {%- if value is none -%}
            {%- set value = env_var('JELOU_SLA_' ~ (name | upper), '') -%}
        {%- endif -%}
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

{% macro sla_delete_window(period='day') -%}
    {%- if is_incremental() -%}
        {%- if period == 'day' -%}
            delete from {{ this }} where {{ sla_window_predicate('partition_date') }}
        {%- else -%}
            delete from {{ this }} where {{ sla_period_window_predicate('period_start', period) }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- The window widened to whole periods: first day of min_date's period, last day of max_date's. -#}
{% macro sla_period_window(period) -%}
    {%- set window = sla_window() -%}
    {%- if window is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set dt = modules.datetime -%}
    {%- set first = dt.datetime.strptime(window['min_date'], '%Y-%m-%d').date() -%}
    {%- set last = dt.datetime.strptime(window['max_date'], '%Y-%m-%d').date() -%}
    {%- if period == 'week' -%}
        {%- set first = first - dt.timedelta(days=first.weekday()) -%}
        {%- set last = last + dt.timedelta(days=6 - last.weekday()) -%}
    {%- elif period == 'month' -%}
        {%- set first = first.replace(day=1) -%}
        {%- set last = (last.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1) -%}
    {%- else -%}
        {{ exceptions.raise_compiler_error("period must be 'week' or 'month', got '" ~ period ~ "'") }}
    {%- endif -%}
    {{ return({'min_date': first.isoformat(), 'max_date': last.isoformat()}) }}
{%- endmacro %}

{% macro sla_period_window_predicate(column, period) -%}
    {%- set window = sla_period_window(period) -%}
    {%- if window is none -%}
        1 = 1
    {%- else -%}
        {{ column }} between cast('{{ window["min_date"] }}' as date) and cast('{{ window["max_date"] }}' as date)
    {%- endif -%}
{%- endmacro %}

{% macro sla_period_source_filter(column, period) -%}
    {%- if is_incremental() and sla_window() is not none -%}
        where {{ sla_period_window_predicate(column, period) }}
    {%- endif -%}
{%- endmacro %}

{% macro sla_period_start(column, period) -%}
    cast(date_trunc('{{ period }}', cast({{ column }} as timestamp)) as date)
{%- endmacro %}

{% macro sla_period_end(column, period) -%}
    cast(cast({{ column }} as timestamp) + interval '1 {{ period }}' - interval '1 day' as date)
{%- endmacro %}

{% macro sla_test_window_predicate(window) -%}
    {%- if window is none -%}
        1 = 1
    {%- elif window is not mapping or 'column' not in window -%}
        {{ exceptions.raise_compiler_error("a test window is {column: <date column>[, period: week|month]}, got " ~ window) }}
    {%- elif window.get('period', 'day') == 'day' -%}
        {{ sla_window_predicate(window['column']) }}
    {%- else -%}
        {{ sla_period_window_predicate(window['column'], window['period']) }}
    {%- endif -%}
{%- endmacro %}
