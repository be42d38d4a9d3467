-- Per day, team_sla_daily's conversations add up to the facts' row count (window only when vars are given).
{{ reconcile_with_facts(ref('team_sla_daily')) }}
