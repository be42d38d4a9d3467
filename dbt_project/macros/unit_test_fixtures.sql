{#-
  stg_conversation_facts_rows(rows) -> SQL: unit-test rows for the ephemeral stg_conversation_facts,
  which dbt takes only as SQL (`format: sql`). Each row is a mapping like a `rows:` entry; the
  columns it leaves out are null, so a test names only the columns it is about.
-#}
{% macro stg_conversation_facts_rows(rows) -%}
    {%- set columns = {
        'conversation_id': 'text', 'partition_date': 'date', 'team_name': 'text', 'operator_name': 'text',
        'origin': 'text', 'state': 'text', 'started_at': 'timestamp', 'ended_at': 'timestamp',
        'fetched_at': 'timestamp', 'first_reply_ms': 'bigint', 'duration_ms': 'bigint'} -%}
    {%- for row in rows -%}
        {%- set unknown = row.keys() | reject('in', columns) | list -%}
        {%- if unknown -%}
            {{ exceptions.raise_compiler_error("stg_conversation_facts has no column " ~ unknown | join(', ')) }}
        {%- endif %}
    {% if not loop.first %}union all {% endif -%}
    select
        {%- for column, type in columns.items() %}
        {%- set value = row.get(column) %}
        cast({{ 'null' if value is none else ("'" ~ (value | string | replace("'", "''")) ~ "'") }} as {{ type }}) as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    {%- endfor %}
{%- endmacro %}
