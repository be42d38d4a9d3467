{#- One row per (partition_date, team_name). Window semantics: macros/sla_window.sql. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='partition_date',
    on_schema_change='fail',
    pre_hook="{{ sla_delete_window() }}"
) }}

{{ sla_daily(['team_name']) }}
