{#- One row per (period_start, team_name) for each local calendar month,
    recomputed from the period's conversations. Window semantics: macros/sla_window.sql. -#}
with conversations as (
    select
        {{ sla_period_start('partition_date', 'month') }} as period_start,
        conversation_sla.*
    from {{ ref('conversation_sla') }} as conversation_sla
    {{ sla_period_source_filter('partition_date', 'month') }}
),

per_month as (
    select
        period_start,
        team_name,
        {{ sla_aggregates() }}
    from conversations
    group by period_start, team_name
)

select
    cast(period_start as date) as period_start,
    {{ sla_period_end('period_start', 'month') }} as period_end,
    cast(team_name as text) as team_name,
    {{ sla_measures() }}
from per_month
