{#- Generic (attached to the mart) so Dagster shows it as an asset check on that mart; body in macros/reconcile_with_facts.sql. -#}
{% test reconciles_with_facts(model) %}
{{ reconcile_with_facts(model) }}
{% endtest %}
