{#-
  Body of the reconciliation tests: one failing row per day where the mart's summed
  `conversations` differs from the number of rows in jelou.conversation_facts (a day
  missing on either side counts as 0). Restricted to the min_date..max_date window when
  the vars are given, since days outside it are deliberately left as they were.
-#}
{% macro reconcile_with_facts(mart) -%}
with facts as (
    select cast(partition_date as date) as partition_date, count(*) as conversations
    from {{ source('jelou', 'conversation_facts') }}
    where {{ sla_window_predicate('partition_date') }}
    group by 1
),

mart as (
    select partition_date, sum(conversations) as conversations
    from {{ mart }}
    where {{ sla_window_predicate('partition_date') }}
    group by 1
)

select
    coalesce(facts.partition_date, mart.partition_date) as partition_date,
    coalesce(facts.conversations, 0) as facts_conversations,
    coalesce(mart.conversations, 0) as mart_conversations
from facts
full outer join mart
    on mart.partition_date = facts.partition_date
where coalesce(facts.conversations, 0) <> coalesce(mart.conversations, 0)
{%- endmacro %}
