{#-
  One row per conversation with its first-reply SLA status: the only place the rule lives
  (docs/SLA.md). Every SLA mart aggregates this model. Window semantics: macros/sla_window.sql.
-#}
{%- set dbl = type_double() -%}
with facts as (
    select
        conversation_id,
        cast(partition_date as date) as partition_date,
        coalesce(team_name, '(no team)') as team_name,
        coalesce(operator_name, '(no operator)') as operator_name,
        coalesce(origin, '(no origin)') as origin,
        state,
        started_at,
        ended_at,
        fetched_at,
        {{ ms_to_seconds('first_reply_ms') }} as first_reply_s,
        {{ ms_to_seconds('duration_ms') }} as duration_s,
        -- how long the user had waited: until the end, or until we looked if still open
        {{ seconds_between('started_at', 'coalesce(ended_at, fetched_at)') }} as elapsed_s
    from {{ source('jelou', 'conversation_facts') }}
    {{ sla_source_filter('partition_date') }}
),

policies as (
    select team_name, first_reply_target_s, attainment_goal
    from {{ ref('sla_policies') }}
),

with_policy as (
    select
        facts.*,
        cast(coalesce(team_policy.first_reply_target_s, default_policy.first_reply_target_s) as {{ dbl }}) as sla_target_s,
        cast(coalesce(team_policy.attainment_goal, default_policy.attainment_goal) as {{ dbl }}) as attainment_goal
    from facts
    left join policies as team_policy
        on team_policy.team_name = facts.team_name
    left join policies as default_policy
        on default_policy.team_name = '*'
),

classified as (
    select
        with_policy.*,
        case
            when first_reply_s is not null and first_reply_s <= sla_target_s then 'met'
            when first_reply_s is not null then 'breached'
            when elapsed_s > sla_target_s then 'breached'
            when elapsed_s is not null and ended_at is null then 'pending'
            else 'excluded'
        end as sla_status,
        case
            when first_reply_s is not null and first_reply_s <= sla_target_s then 'replied within target'
            when first_reply_s is not null then 'replied after target'
            when elapsed_s > sla_target_s and ended_at is null then 'no reply, still waiting past target'
            when elapsed_s > sla_target_s then 'no reply, ended after target'
            when elapsed_s is not null and ended_at is null then 'no reply yet, younger than target'
            when elapsed_s is not null then 'no reply, ended within target'
            else 'no reply, start time unknown'
        end as sla_reason
    from with_policy
)

select
    cast(conversation_id as text) as conversation_id,
    cast(partition_date as date) as partition_date,
    cast(team_name as text) as team_name,
    cast(operator_name as text) as operator_name,
    cast(origin as text) as origin,
    cast(state as text) as state,
    started_at,
    ended_at,
    fetched_at,
    cast(sla_target_s as {{ dbl }}) as sla_target_s,
    cast(attainment_goal as {{ dbl }}) as attainment_goal,
    cast(first_reply_s as {{ dbl }}) as first_reply_s,
    cast(elapsed_s as {{ dbl }}) as elapsed_s,
    cast(duration_s as {{ dbl }}) as duration_s,
    cast(sla_status as text) as sla_status,
    cast(sla_reason as text) as sla_reason
from classified
