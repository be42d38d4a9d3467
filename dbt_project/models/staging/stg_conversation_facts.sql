{#-
  The facts as the SLA models read them: one row per conversation of jelou.conversation_facts,
  typed, and with a readable name where Jelou sent none. Ephemeral: it
  adds no table, and the window filter of the model reading it (macros/sla_window.sql) applies
  to the facts themselves.
-#}
select
    cast(conversation_id as text) as conversation_id,
    cast(partition_date as date) as partition_date,
    cast(coalesce(team_name, '(no team)') as text) as team_name,
    cast(coalesce(operator_name, '(no operator)') as text) as operator_name,
    cast(coalesce(origin, '(no origin)') as text) as origin,
    cast(state as text) as state,
    started_at,
    ended_at,
    fetched_at,
    cast(first_reply_ms as bigint) as first_reply_ms,
    cast(duration_ms as bigint) as duration_ms
from {{ source('jelou', 'conversation_facts') }}
