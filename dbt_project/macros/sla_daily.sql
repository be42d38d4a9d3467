{#-
  Body of the daily SLA marts, shared by team_sla_daily (grain: partition_date,
  team_name) and operator_sla_daily (grain: partition_date, team_name, operator_name).

  `grain` lists the key columns after partition_date. Null team / operator become
  '(no team)' / '(no operator)'. Each conversation gets its team's policy from the
  sla_policies seed, else the '*' row. Seconds are ms / 1000.0 as doubles; counts are
  bigints; percentiles are continuous (see percentile_cont). Incremental runs read only
  the min_date..max_date window (see sla_window.sql).
-#}
{% macro sla_daily(grain) -%}
{%- set dbl = type_double() -%}
{%- set keys = ['partition_date'] + grain -%}
with facts as (
    select
        cast(partition_date as date) as partition_date,
        coalesce(team_name, '(no team)') as team_name,
        coalesce(operator_name, '(no operator)') as operator_name,
        state,
        {{ ms_to_seconds('first_reply_ms') }} as first_reply_s,
        {{ ms_to_seconds('duration_ms') }} as duration_s
    from {{ source('jelou', 'conversation_facts') }}
    {{ sla_source_filter('partition_date') }}
),

policies as (
    select team_name, first_reply_target_s, attainment_goal
    from {{ ref('sla_policies') }}
),

facts_with_policy as (
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

daily as (
    select
        {{ keys | join(',\n        ') }},
        count(*) as conversations,
        count(first_reply_s) as replied,
        count(case when first_reply_s <= sla_target_s then 1 end) as within_sla,
        max(sla_target_s) as sla_target_s,
        max(attainment_goal) as attainment_goal,
        {{ percentile_cont('first_reply_s', 0.5) }} as first_reply_p50_s,
        {{ percentile_cont('first_reply_s', 0.9) }} as first_reply_p90_s,
        avg(first_reply_s) as first_reply_avg_s,
        max(first_reply_s) as first_reply_max_s,
        {{ percentile_cont('duration_s', 0.5) }} as duration_p50_s,
        {{ percentile_cont('duration_s', 0.9) }} as duration_p90_s,
        count(case when state = 'active' then 1 end) as active,
        count(case when state = 'closed' then 1 end) as closed,
        count(case when state = 'resolved' then 1 end) as resolved,
        count(case when state = 'expired' then 1 end) as expired,
        count(case when state is null or state not in ('active', 'closed', 'resolved', 'expired') then 1 end) as other_state
    from facts_with_policy
    group by {{ keys | join(', ') }}
),

attainment as (
    select
        daily.*,
        case
            when replied > 0 then cast(within_sla as {{ dbl }}) / cast(replied as {{ dbl }})
        end as sla_attainment
    from daily
)

select
    cast(partition_date as date) as partition_date,
    {%- for key in grain %}
    cast({{ key }} as text) as {{ key }},
    {%- endfor %}
    cast(conversations as bigint) as conversations,
    cast(replied as bigint) as replied,
    cast(within_sla as bigint) as within_sla,
    cast(sla_attainment as {{ dbl }}) as sla_attainment,
    cast(attainment_goal as {{ dbl }}) as attainment_goal,
    case
        when sla_attainment is not null and sla_attainment < attainment_goal then true
        else false
    end as breached,
    cast(sla_target_s as {{ dbl }}) as sla_target_s,
    cast(first_reply_p50_s as {{ dbl }}) as first_reply_p50_s,
    cast(first_reply_p90_s as {{ dbl }}) as first_reply_p90_s,
    cast(first_reply_avg_s as {{ dbl }}) as first_reply_avg_s,
    cast(first_reply_max_s as {{ dbl }}) as first_reply_max_s,
    cast(duration_p50_s as {{ dbl }}) as duration_p50_s,
    cast(duration_p90_s as {{ dbl }}) as duration_p90_s,
    cast(active as bigint) as active,
    cast(closed as bigint) as closed,
    cast(resolved as bigint) as resolved,
    cast(expired as bigint) as expired,
    cast(other_state as bigint) as other_state,
    cast(expired as {{ dbl }}) / cast(conversations as {{ dbl }}) as expired_share
from attainment
{%- endmacro %}
