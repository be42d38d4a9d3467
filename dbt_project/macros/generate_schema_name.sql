{#-
  Every node lands in the schema given by `+schema` (always `jelou` in dbt_project.yml)
  or, failing that, the target's schema (also `jelou`). dbt's default would prefix the
  custom schema with the target schema (`jelou_jelou`); the warehouse contract fixes
  schema `jelou` exactly.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema | trim }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
