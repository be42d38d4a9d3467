{#- One row per (partition_date, team_name, origin): a WhatsApp queue and a ticket queue apart.
    Window semantics: macros/sla_window.sql. -#}
with conversations as (
    select * from {{ ref('conversation_sla') }}
    {{ sla_source_filter('partition_date') }}
),

team_channel_days as (
    select
        partition_date,
        team_name,
        origin,
        {{ sla_aggregates() }}
    from conversations
    group by partition_date, team_name, origin
)

select
    cast(partition_date as date) as partition_date,
    cast(team_name as text) as team_name,
    cast(origin as text) as origin,
    {{ sla_measures() }}
from team_channel_days
