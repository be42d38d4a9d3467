{#- One row per (partition_date, team_name). Window semantics: macros/sla_window.sql. -#}
with conversations as (
    select * from {{ ref('conversation_sla') }}
    {{ sla_source_filter('partition_date') }}
),

team_days as (
    select
        partition_date,
        team_name,
        {{ sla_aggregates() }}
    from conversations
    group by partition_date, team_name
)

select
    cast(partition_date as date) as partition_date,
    cast(team_name as text) as team_name,
    {{ sla_measures() }}
from team_days
