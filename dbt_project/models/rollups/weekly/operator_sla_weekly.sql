{#- One row per (period_start, team_name, operator_name) for each local week (weeks start on Monday),
    recomputed from the period's conversations. Window semantics: macros/sla_window.sql; columns: the YAML file beside this one. -#}
{%- set dbl = type_double() -%}
with conversations as (
    select
        {{ sla_period_start('partition_date', 'week') }} as period_start,
        conversation_sla.*
    from {{ ref('conversation_sla') }} as conversation_sla
    {{ sla_period_source_filter('partition_date', 'week') }}
),

operator_weeks as (
    select
        period_start,
        team_name,
        operator_name,
        count(*) as conversations,
        count(first_reply_calendar_s) as replied,
        count(case when sla_status = 'met' then 1 end) as met,
        count(case when sla_status = 'breached' then 1 end) as breached_conversations,
        count(case when sla_status = 'pending' then 1 end) as pending,
        count(case when sla_status = 'excluded' then 1 end) as excluded,
        -- a team has one policy: max() carries it through the group by
        max(sla_target_s) as sla_target_s,
        max(attainment_goal) as attainment_goal,
        max(sla_clock) as sla_clock,
        -- reply times are over replied conversations only, on the policy's clock; the calendar-clock p90 beside them
        {{ percentile_cont('first_reply_s', 0.5) }} as first_reply_p50_s,
        {{ percentile_cont('first_reply_s', 0.9) }} as first_reply_p90_s,
        {{ percentile_cont('first_reply_calendar_s', 0.9) }} as first_reply_calendar_p90_s,
        avg(first_reply_s) as first_reply_avg_s,
        max(first_reply_s) as first_reply_max_s,
        {{ percentile_cont('duration_s', 0.5) }} as duration_p50_s,
        {{ percentile_cont('duration_s', 0.9) }} as duration_p90_s,
        count(case when state = 'active' then 1 end) as active,
        count(case when state = 'closed' then 1 end) as closed,
        count(case when state = 'resolved' then 1 end) as resolved,
        count(case when state = 'expired' then 1 end) as expired,
        count(case when state is null or state not in ('active', 'closed', 'resolved', 'expired') then 1 end) as other_state
    from conversations
    group by period_start, team_name, operator_name
),

with_attainment as (
    -- the met share of the judged conversations: pending and excluded ones are not (yet) judged
    select
        *,
        case when met + breached_conversations > 0
            then cast(met as {{ dbl }}) / cast(met + breached_conversations as {{ dbl }})
        end as sla_attainment
    from operator_weeks
)

select
    cast(period_start as date) as period_start,
    {{ sla_period_end('period_start', 'week') }} as period_end,
    cast(team_name as text) as team_name,
    cast(operator_name as text) as operator_name,
    cast(conversations as bigint) as conversations,
    cast(replied as bigint) as replied,
    cast(met as bigint) as within_sla,
    cast(sla_attainment as {{ dbl }}) as sla_attainment,
    cast(attainment_goal as {{ dbl }}) as attainment_goal,
    coalesce(sla_attainment < attainment_goal, false) as breached,
    cast(sla_target_s as {{ dbl }}) as sla_target_s,
    cast(sla_clock as text) as sla_clock,
    cast(first_reply_p50_s as {{ dbl }}) as first_reply_p50_s,
    cast(first_reply_p90_s as {{ dbl }}) as first_reply_p90_s,
    cast(first_reply_calendar_p90_s as {{ dbl }}) as first_reply_calendar_p90_s,
    cast(first_reply_avg_s as {{ dbl }}) as first_reply_avg_s,
    cast(first_reply_max_s as {{ dbl }}) as first_reply_max_s,
    cast(duration_p50_s as {{ dbl }}) as duration_p50_s,
    cast(duration_p90_s as {{ dbl }}) as duration_p90_s,
    cast(active as bigint) as active,
    cast(closed as bigint) as closed,
    cast(resolved as bigint) as resolved,
    cast(expired as bigint) as expired,
    cast(other_state as bigint) as other_state,
    cast(expired as {{ dbl }}) / cast(conversations as {{ dbl }}) as expired_share,
    cast(met as bigint) as met,
    cast(breached_conversations as bigint) as breached_conversations,
    cast(conversations - replied as bigint) as unanswered,
    cast(pending as bigint) as pending,
    cast(excluded as bigint) as excluded,
    cast(replied as {{ dbl }}) / cast(conversations as {{ dbl }}) as reply_rate
from with_attainment
