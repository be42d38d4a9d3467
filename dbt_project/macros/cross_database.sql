{#-
  Cross-database helpers (DuckDB and PostgreSQL), dispatched through adapter.dispatch so
  another adapter can add its own `<adapter>__` implementation.
-#}

{#- The 8-byte IEEE float type: `double precision` is spelled the same on both engines. -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'jelou_sla')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double precision
{%- endmacro %}


{#-
  Continuous percentile (linear interpolation between the two nearest ranks, position
  (n - 1) * fraction, as numpy/pandas' default `linear`), as an aggregate over `expression`.
  Nulls are ignored; the result is null when there is no non-null value. Returns a double.
-#}
{% macro percentile_cont(expression, fraction) -%}
    {{ return(adapter.dispatch('percentile_cont', 'jelou_sla')(expression, fraction)) }}
{%- endmacro %}

{#- ANSI ordered-set aggregate: PostgreSQL and most warehouses. -#}
{% macro default__percentile_cont(expression, fraction) -%}
    cast(percentile_cont({{ fraction }}) within group (order by {{ expression }}) as {{ type_double() }})
{%- endmacro %}

{% macro postgres__percentile_cont(expression, fraction) -%}
    {{ default__percentile_cont(expression, fraction) }}
{%- endmacro %}

{% macro duckdb__percentile_cont(expression, fraction) -%}
    cast(quantile_cont({{ expression }}, {{ fraction }}) as {{ type_double() }})
{%- endmacro %}


{#- Milliseconds (integer) to seconds as a double: ms / 1000.0, same IEEE result everywhere. -#}
{% macro ms_to_seconds(column) -%}
    (cast({{ column }} as {{ type_double() }}) / cast(1000 as {{ type_double() }}))
{%- endmacro %}


{#- Seconds from timestamp `start` to timestamp `end` as a double, to the microsecond. -#}
{% macro seconds_between(start, end) -%}
    {{ return(adapter.dispatch('seconds_between', 'jelou_sla')(start, end)) }}
{%- endmacro %}

{% macro default__seconds_between(start, end) -%}
    cast(extract(epoch from ({{ end }} - {{ start }})) as {{ type_double() }})
{%- endmacro %}

{% macro duckdb__seconds_between(start, end) -%}
    (cast(date_diff('microsecond', {{ start }}, {{ end }}) as {{ type_double() }}) / cast(1000000 as {{ type_double() }}))
{%- endmacro %}
