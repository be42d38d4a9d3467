{#- Generic (attached to the mart) so Dagster shows it as an asset check on that mart; body in macros/reconcile_with_facts.sql. -#}
{% test reconciles_with_facts(model) %}
{#- dagster-dbt shows meta.description as the check's description in the UI. -#}
{{ config(meta={'description': "Reconciliation with conversation_facts: for each day of the run, this table's conversations add up to the day's facts, so no conversation was lost or counted twice on the way to the SLA numbers."}) }}
{{ reconcile_with_facts(model) }}
{% endtest %}
