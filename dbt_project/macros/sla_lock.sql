{#-
  sla_lock_mart() -> first pre-hook of the marts on PostgreSQL: a transaction-level advisory lock
  on the mart, so two runs building the same mart take turns. Without it, two runs of a window
  with no rows yet both delete nothing (READ COMMITTED has nothing to lock) and both insert:
  every row twice. The pre-hook delete that follows starts a fresh snapshot, so the second run
  removes what the first one committed. DuckDB needs nothing: one process writes a file at a time.
-#}
{% macro sla_lock_mart() -%}
    {%- if target.type == 'postgres' -%}
        select pg_advisory_xact_lock(hashtext('{{ this }}'))
    {%- endif -%}
{%- endmacro %}
