-- Per day, operator_sla_daily's conversations add up to the facts' row count (window only when vars are given).
{{ reconcile_with_facts(ref('operator_sla_daily')) }}
