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


{#- Whole microseconds from timestamp `start` to timestamp `end`, as a bigint: exact, so sums and
    differences of them never drift. -#}
{% macro microseconds_between(start, end) -%}
    {{ return(adapter.dispatch('microseconds_between', 'jelou_sla')(start, end)) }}
{%- endmacro %}

{% macro default__microseconds_between(start, end) -%}
    cast(round(extract(epoch from ({{ end }} - {{ start }})) * 1000000) as bigint)
{%- endmacro %}

{% macro duckdb__microseconds_between(start, end) -%}
    date_diff('microsecond', {{ start }}, {{ end }})
{%- endmacro %}


{#-
  The UTC instant (a naive UTC timestamp) of the naive local timestamp `local_timestamp` in the
  IANA zone `zone` (a column or a quoted literal). A local time that does not exist (in a
  spring-forward gap) or that occurs twice (in a fall-back hour) is read as the LATER of its two
  candidate instants: 02:30 in a gap from 02:00 to 03:00 is 03:30 after the change, and 01:30 in a
  repeated hour is its second occurrence. That is what both PostgreSQL and DuckDB's ICU do; the
  tests pin it against Python's zoneinfo (docs/SLA.md, "The business clock").
-#}
{% macro local_to_utc(local_timestamp, zone) -%}
    {{ return(adapter.dispatch('local_to_utc', 'jelou_sla')(local_timestamp, zone)) }}
{%- endmacro %}

{% macro default__local_to_utc(local_timestamp, zone) -%}
    (({{ local_timestamp }}) at time zone {{ zone }}) at time zone 'UTC'
{%- endmacro %}

{% macro duckdb__local_to_utc(local_timestamp, zone) -%}
    timezone('UTC', timezone({{ zone }}, {{ local_timestamp }}))
{%- endmacro %}


{#- A set-returning select-list expression: one timestamp per day from date `first` to date `last`,
    both included (midnights). -#}
{% macro day_series(first, last) -%}
    {{ return(adapter.dispatch('day_series', 'jelou_sla')(first, last)) }}
{%- endmacro %}

{% macro default__day_series(first, last) -%}
    generate_series(cast({{ first }} as timestamp), cast({{ last }} as timestamp), interval '1 day')
{%- endmacro %}

{% macro duckdb__day_series(first, last) -%}
    unnest(generate_series(cast({{ first }} as timestamp), cast({{ last }} as timestamp), interval '1 day'))
{%- endmacro %}


{#- The names of the time zones the warehouse knows, as a query with one column `name`. -#}
{% macro time_zone_names() -%}
    {{ return(adapter.dispatch('time_zone_names', 'jelou_sla')()) }}
{%- endmacro %}

{% macro default__time_zone_names() -%}
    select name from pg_timezone_names
{%- endmacro %}

{% macro duckdb__time_zone_names() -%}
    select name from pg_timezone_names()
{%- endmacro %}


{#- Timestamp `ts` plus `amount` (an integer expression, up to bigint) of `unit`: 'millisecond' or 'minute'. -#}
{% macro add_to_timestamp(ts, amount, unit) -%}
    {{ return(adapter.dispatch('add_to_timestamp', 'jelou_sla')(ts, amount, unit)) }}
{%- endmacro %}

{% macro default__add_to_timestamp(ts, amount, unit) -%}
    ({{ ts }} + ({{ amount }}) * interval '1 {{ unit }}')
{%- endmacro %}

{#- DuckDB multiplies an interval by a 32-bit integer only; to_milliseconds / to_minutes take a bigint. -#}
{% macro duckdb__add_to_timestamp(ts, amount, unit) -%}
    ({{ ts }} + to_{{ unit }}s(cast({{ amount }} as bigint)))
{%- endmacro %}
