{#- One row per (partition_date, team_name, operator_name). Window semantics: macros/sla_window.sql. -#}
with conversations as (
    select * from {{ ref('conversation_sla') }}
    {{ sla_source_filter('partition_date') }}
),

operator_days as (
    select
        partition_date,
        team_name,
        operator_name,
        {{ sla_aggregates() }}
    from conversations
    group by partition_date, team_name, operator_name
)

select
    cast(partition_date as date) as partition_date,
    cast(team_name as text) as team_name,
    cast(operator_name as text) as operator_name,
    {{ sla_measures() }}
from operator_days
