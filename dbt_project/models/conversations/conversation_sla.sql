{#-
  One row per conversation with its first-reply SLA status: the only place the rule lives
  (docs/SLA.md). Every SLA mart aggregates this model. Window semantics: macros/sla_window.sql.

  A team whose policy names a calendar is judged on that calendar's clock: the open time between the
  start and the first reply (or the end, or the fetch). The calendar is laid out in UTC over the days
  this run's conversations span, as B(t), the open microseconds up to instant t, a step function with
  a step at every opening, closing and UTC midnight; then business time from t0 to t1 is
  B(t1) - B(t0), each B found by one equi-join on (calendar, UTC day) (docs/SLA.md, "The business clock").
-#}
{%- set dbl = type_double() -%}
with conversations as (
    select * from {{ ref('stg_conversation_facts') }}
    {{ sla_source_filter('partition_date') }}
),

policies as (
    select team_name, first_reply_target_s, attainment_goal, calendar
    from {{ ref('sla_policies') }}
),

with_policy as (
    select
        conversations.*,
        cast(coalesce(team_policy.first_reply_target_s, default_policy.first_reply_target_s) as {{ dbl }}) as sla_target_s,
        cast(coalesce(team_policy.attainment_goal, default_policy.attainment_goal) as {{ dbl }}) as attainment_goal,
        -- a listed team's row is its whole policy: an empty calendar there is calendar time, whatever '*' says
        case when team_policy.team_name is null then default_policy.calendar else team_policy.calendar end as calendar,
        {{ ms_to_seconds('first_reply_ms') }} as first_reply_calendar_s,
        {{ ms_to_seconds('duration_ms') }} as duration_s,
        -- how long the user had waited: until the end, or until we looked if still open
        {{ seconds_between('started_at', 'coalesce(ended_at, fetched_at)') }} as elapsed_calendar_s,
        -- where the business clock is read; it counts at most 366 days, so a garbled reply time cannot
        -- make the calendar be laid out over centuries (least() would skip a null: hence the cases)
        case when first_reply_ms is not null
            then {{ add_to_timestamp('started_at', 'least(first_reply_ms, 31622400000)', 'millisecond') }}
        end as replied_at,
        case when coalesce(ended_at, fetched_at) is not null
            then least(coalesce(ended_at, fetched_at), started_at + interval '366 days')
        end as waited_until
    from conversations
    left join policies as team_policy
        on team_policy.team_name = conversations.team_name
    left join policies as default_policy
        on default_policy.team_name = '*'
),

calendar_span as (
    -- the UTC days each calendar must cover: every instant one of its conversations is read at
    select
        calendar,
        cast(min(least(started_at, coalesce(replied_at, started_at), coalesce(waited_until, started_at))) as date) as first_day,
        cast(max(greatest(started_at, coalesce(replied_at, started_at), coalesce(waited_until, started_at))) as date) as last_day
    from with_policy
    where calendar is not null and started_at is not null
    group by calendar
),

weekly_hours as (
    -- each opening interval of sla_calendars in minutes after local midnight; closes <= opens runs past midnight
    select
        calendar,
        timezone,
        cast(weekday as integer) as weekday,
        {{ minutes_after_midnight('opens') }} as opens_min,
        {{ minutes_after_midnight('closes') }} as closes_min
    from {{ ref('sla_calendars') }}
),

day_pieces as (
    -- the intervals cut at local midnight, each piece on the weekday it lies on
    select calendar, timezone, weekday, opens_min, case when closes_min > opens_min then closes_min else 1440 end as closes_min
    from weekly_hours
    union all
    select calendar, timezone, weekday % 7 + 1 as weekday, 0 as opens_min, closes_min
    from weekly_hours
    where closes_min <= opens_min and closes_min > 0
),

holidays as (
    select distinct calendar, cast(date as date) as local_day
    from (
        select calendar, date from {{ ref('sla_holidays') }}
        {{ sla_extra_holidays_rows() }}
    ) as closures
),

local_days as (
    -- every local day whose pieces can reach into the span: one more on either side covers any UTC offset
    select calendar, cast({{ day_series('first_day - 1', 'last_day + 1') }} as date) as local_day
    from calendar_span
),

openings as (
    -- each piece on each of its local days but holidays, as a UTC interval
    select
        local_days.calendar,
        {{ local_to_utc(add_to_timestamp('cast(local_days.local_day as timestamp)', 'day_pieces.opens_min', 'minute'), 'day_pieces.timezone') }} as opens_at,
        {{ local_to_utc(add_to_timestamp('cast(local_days.local_day as timestamp)', 'day_pieces.closes_min', 'minute'), 'day_pieces.timezone') }} as closes_at
    from local_days
    inner join day_pieces
        on day_pieces.calendar = local_days.calendar
        and day_pieces.weekday = cast(extract(isodow from local_days.local_day) as integer)
    left join holidays
        on holidays.calendar = local_days.calendar
        and holidays.local_day = local_days.local_day
    where holidays.local_day is null
),

clock_changes as (
    -- +1 where an opening starts, -1 where it ends, 0 at every UTC midnight of the span so that each
    -- step of the clock lies within one UTC day. A piece whose close a DST change put before its open
    -- is empty; overlapping pieces (only a DST gap makes them) add up to one opening.
    select calendar, opens_at as changes_at, 1 as opened from openings where opens_at < closes_at
    union all
    select calendar, closes_at as changes_at, -1 as opened from openings where opens_at < closes_at
    union all
    select calendar, {{ day_series('first_day', 'last_day + 1') }} as changes_at, 0 as opened from calendar_span
),

clock_steps as (
    select
        calendar,
        changes_at as starts_at,
        lead(changes_at) over (partition by calendar order by changes_at) as ends_at,
        sum(opened) over (partition by calendar order by changes_at rows between unbounded preceding and current row) > 0 as is_open
    from (
        select calendar, changes_at, sum(opened) as opened
        from clock_changes
        group by calendar, changes_at
    ) as changes
),

business_clock as (
    -- B at the start of each step: the open microseconds of all the steps before it
    select
        calendar,
        cast(starts_at as date) as utc_day,
        starts_at,
        ends_at,
        is_open,
        coalesce(sum(case when is_open then {{ microseconds_between('starts_at', 'ends_at') }} else 0 end) over (
            partition by calendar order by starts_at rows between unbounded preceding and 1 preceding
        ), 0) as open_us_before
    from clock_steps
    where ends_at is not null
),

clocked as (
    select
        with_policy.*,
        {{ business_clock_reading('at_start', 'with_policy.started_at') }} as start_reading,
        {{ business_clock_reading('at_reply', 'with_policy.replied_at') }} as reply_reading,
        {{ business_clock_reading('at_wait', 'with_policy.waited_until') }} as wait_reading
    from with_policy
    left join business_clock as at_start
        on at_start.calendar = with_policy.calendar
        and at_start.utc_day = cast(with_policy.started_at as date)
        and at_start.starts_at <= with_policy.started_at and with_policy.started_at < at_start.ends_at
    left join business_clock as at_reply
        on at_reply.calendar = with_policy.calendar
        and at_reply.utc_day = cast(with_policy.replied_at as date)
        and at_reply.starts_at <= with_policy.replied_at and with_policy.replied_at < at_reply.ends_at
    left join business_clock as at_wait
        on at_wait.calendar = with_policy.calendar
        and at_wait.utc_day = cast(with_policy.waited_until as date)
        and at_wait.starts_at <= with_policy.waited_until and with_policy.waited_until < at_wait.ends_at
),

on_policy_clock as (
    -- the seconds the status is judged on: business seconds where the policy names a calendar
    select
        clocked.*,
        case
            when calendar is null then first_reply_calendar_s
            else cast(reply_reading - start_reading as {{ dbl }}) / cast(1000000 as {{ dbl }})
        end as first_reply_policy_s,
        case
            when calendar is null then elapsed_calendar_s
            else cast(wait_reading - start_reading as {{ dbl }}) / cast(1000000 as {{ dbl }})
        end as elapsed_policy_s
    from clocked
),

classified as (
    select
        on_policy_clock.*,
        case
            when first_reply_policy_s is not null and first_reply_policy_s <= sla_target_s then 'met'
            when first_reply_policy_s is not null then 'breached'
            -- replied, but with no start time there is nothing to read a business clock from
            when first_reply_calendar_s is not null then 'excluded'
            when elapsed_policy_s > sla_target_s then 'breached'
            when elapsed_policy_s is not null and ended_at is null then 'pending'
            else 'excluded'
        end as sla_status,
        case
            when first_reply_policy_s is not null and first_reply_policy_s <= sla_target_s then 'replied within target'
            when first_reply_policy_s is not null then 'replied after target'
            when first_reply_calendar_s is not null then 'replied, start time unknown'
            when elapsed_policy_s > sla_target_s and ended_at is null then 'no reply, still waiting past target'
            when elapsed_policy_s > sla_target_s then 'no reply, ended after target'
            when elapsed_policy_s is not null and ended_at is null then 'no reply yet, younger than target'
            when elapsed_policy_s is not null then 'no reply, ended within target'
            else 'no reply, start time unknown'
        end as sla_reason
    from on_policy_clock
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
    cast(coalesce(calendar, 'calendar') as text) as sla_clock,
    cast(sla_target_s as {{ dbl }}) as sla_target_s,
    cast(attainment_goal as {{ dbl }}) as attainment_goal,
    cast(first_reply_policy_s as {{ dbl }}) as first_reply_s,
    cast(elapsed_policy_s as {{ dbl }}) as elapsed_s,
    cast(first_reply_calendar_s as {{ dbl }}) as first_reply_calendar_s,
    cast(elapsed_calendar_s as {{ dbl }}) as elapsed_calendar_s,
    cast(duration_s as {{ dbl }}) as duration_s,
    cast(sla_status as text) as sla_status,
    cast(sla_reason as text) as sla_reason
from classified
