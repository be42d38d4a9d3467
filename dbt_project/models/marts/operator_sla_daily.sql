{#- One row per (partition_date, team_name, operator_name). Window semantics: macros/sla_window.sql. -#}
{{ sla_daily(['team_name', 'operator_name']) }}
