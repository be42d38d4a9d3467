{#- One row per (period_start, team_name, operator_name) for each local week (weeks start on Monday),
    recomputed from the period's conversations. Window semantics: macros/sla_window.sql. -#}
with conversations as (
    select
        {{ sla_period_start('partition_date', 'week') }} as period_start,
        conversation_sla.*
    from {{ ref('conversation_sla') }} as conversation_sla
    {{ sla_period_source_filter('partition_date', 'week') }}
),

per_week as (
    select
        period_start,
        team_name,
        operator_name,
        {{ sla_aggregates() }}
    from conversations
    group by period_start, team_name, operator_name
)

select
    cast(period_start as date) as period_start,
    {{ sla_period_end('period_start', 'week') }} as period_end,
    cast(team_name as text) as team_name,
    cast(operator_name as text) as operator_name,
    {{ sla_measures() }}
from per_week
