{#-
  What the seeds of the business clock must satisfy, checked by the tests valid_calendars,
  valid_holidays and names_known_calendars (tests/generic/). Each macro returns a list of problems,
  one sentence per bad row naming the seed, the calendar, the row as written and the fix; the tests
  raise them as one error, so `dbt build` stops before any SLA model is built.

  sla_calendar_problems(rows, unknown_zones)  rows of sla_calendars (calendar, timezone, weekday,
                                              opens, closes); unknown_zones: the zone names the
                                              warehouse does not know
  sla_holiday_problems(rows, calendars)       rows of sla_holidays (calendar, date) and the
                                              closures of JELOU_SLA_EXTRA_HOLIDAYS
  sla_policy_calendar_problems(rows, calendars)  rows of sla_policies (team_name, calendar)
  sla_seed_rows(relation, columns)            the rows of a seed as dicts, [] while it does not exist
  sla_raise_problems(seed, problems)          the error that lists them
-#}

{% macro sla_seed_rows(relation, columns) -%}
    {%- set rows = [] -%}
    {%- if execute and load_relation(relation) is not none -%}
        {%- set result = run_query('select ' ~ columns | join(', ') ~ ' from ' ~ relation) -%}
        {%- for row in result.rows -%}
            {%- set values = {} -%}
            {%- for column in columns -%}
                {%- do values.update({column: (none if row[loop.index0] is none else row[loop.index0] | string | trim)}) -%}
            {%- endfor -%}
            {%- do rows.append(values) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(rows) }}
{%- endmacro %}

{% macro sla_raise_problems(seed, problems) -%}
    {%- if problems -%}
        {{ exceptions.raise_compiler_error(
            seed ~ ": " ~ problems | length ~ (" problem" if problems | length == 1 else " problems")
            ~ "; no SLA model is built until it is fixed:\n  - " ~ problems | join("\n  - ")) }}
    {%- endif -%}
{%- endmacro %}

{#- 'HH:MM' (or 'H:MM') as minutes after midnight; none when it is not a time of day. '24:00' only as a closing time. -#}
{% macro sla_parse_time_of_day(text, closing) -%}
    {%- set match = modules.re.fullmatch('([0-9]{1,2}):([0-9]{2})', text or '') -%}
    {%- if match is none -%}{{ return(none) }}{%- endif -%}
    {%- set minutes = (match.group(1) | int) * 60 + (match.group(2) | int) -%}
    {%- if (match.group(2) | int) > 59 or minutes > 1440 or (minutes == 1440 and not closing) -%}{{ return(none) }}{%- endif -%}
    {{ return(minutes) }}
{%- endmacro %}

{% macro sla_week_time(minute_of_week) -%}
    {%- set minute = minute_of_week % 10080 -%}
    {{ return(['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'][minute // 1440]
              ~ ' ' ~ '%02d:%02d' | format((minute % 1440) // 60, minute % 60)) }}
{%- endmacro %}

{% macro sla_calendar_problems(rows, unknown_zones) -%}
    {%- set problems = [] -%}
    {%- set intervals = [] -%}
    {%- set zones = {} -%}
    {%- for row in rows -%}
        {%- set written = [row.calendar, row.timezone, row.weekday, row.opens, row.closes] | map('default', '', true) | join(',') -%}
        {%- set where = "sla_calendars.csv row '" ~ written ~ "' (calendar '" ~ (row.calendar or '') ~ "')" -%}
        {%- set bad = [] -%}
        {%- if not row.calendar -%}
            {%- do bad.append("names no calendar. Fix: write the calendar's name first, as sla_policies.csv names it") -%}
        {%- elif row.calendar == 'calendar' -%}
            {%- do bad.append("uses the name 'calendar', which marks calendar time in sla_clock. Fix: name it otherwise") -%}
        {%- endif -%}
        {%- if not row.timezone -%}
            {%- do bad.append("has no time zone. Fix: give the IANA zone its hours are in, e.g. America/Guayaquil") -%}
        {%- elif row.timezone in unknown_zones -%}
            {%- do bad.append("has time zone '" ~ row.timezone ~ "', which the warehouse does not know. Fix: use an IANA zone name, e.g. America/Guayaquil or Europe/Madrid (case matters)") -%}
        {%- else -%}
            {%- do zones.setdefault(row.calendar, []).append(row.timezone) -%}
        {%- endif -%}
        {%- if not modules.re.fullmatch('[1-7]', row.weekday or '') -%}
            {%- do bad.append("has weekday '" ~ (row.weekday or '') ~ "'. Fix: write 1 (Monday) to 7 (Sunday)") -%}
        {%- endif -%}
        {%- set opens = sla_parse_time_of_day(row.opens, false) -%}
        {%- set closes = sla_parse_time_of_day(row.closes, true) -%}
        {%- if opens is none -%}
            {%- do bad.append("opens at '" ~ (row.opens or '') ~ "', not a time of day. Fix: write HH:MM, 00:00 to 23:59") -%}
        {%- endif -%}
        {%- if closes is none -%}
            {%- do bad.append("closes at '" ~ (row.closes or '') ~ "', not a time of day. Fix: write HH:MM, 00:00 to 24:00 (a closing time at or before the opening one runs past midnight)") -%}
        {%- endif -%}
        {%- for problem in bad -%}
            {%- do problems.append(where ~ " " ~ problem ~ ".") -%}
        {%- endfor -%}
        {%- if not bad -%}
            {%- set start = ((row.weekday | int) - 1) * 1440 + opens -%}
            {%- set length = (closes - opens) if closes > opens else (closes + 1440 - opens) -%}
            {%- do intervals.append({'calendar': row.calendar, 'written': written, 'start': start, 'end': start + length}) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for calendar, names in zones.items() if names | unique | list | length > 1 -%}
        {%- do problems.append("sla_calendars.csv calendar '" ~ calendar ~ "' has rows in several time zones ("
            ~ names | unique | join(', ') ~ "). Fix: give all its rows the one zone its hours are in.") -%}
    {%- endfor -%}
    {#- intervals overlap on the week's circle: Sunday night runs into Monday -#}
    {%- for first in intervals -%}
        {%- for second in intervals[loop.index:] if second.calendar == first.calendar -%}
            {%- for shift in [-10080, 0, 10080] -%}
                {%- set overlap_start = [first.start, second.start + shift] | max -%}
                {%- set overlap_end = [first.end, second.end + shift] | min -%}
                {%- if overlap_start < overlap_end -%}
                    {%- do problems.append("sla_calendars.csv row '" ~ second.written ~ "' (calendar '" ~ second.calendar
                        ~ "') overlaps row '" ~ first.written ~ "' from " ~ sla_week_time(overlap_start) ~ " to "
                        ~ sla_week_time(overlap_end) ~ ". Fix: make the calendar's intervals disjoint: merge the two rows"
                        ~ " into one, or end one where the other begins.") -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(problems) }}
{%- endmacro %}

{#- True when `text` is a real day written YYYY-MM-DD. -#}
{% macro sla_is_iso_date(text) -%}
    {%- set match = modules.re.fullmatch('([0-9]{4})-([0-9]{2})-([0-9]{2})', text or '') -%}
    {%- if match is none or not (1 <= (match.group(2) | int) <= 12) or (match.group(3) | int) < 1 -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set dt = modules.datetime -%}
    {%- set first = dt.date(match.group(1) | int, match.group(2) | int, 1) -%}
    {%- set last = ((first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)).day -%}
    {{ return((match.group(3) | int) <= last) }}
{%- endmacro %}

{% macro sla_holiday_problems(rows, calendars) -%}
    {%- set problems = [] -%}
    {%- for row in rows -%}
        {%- set where = row.get('source', "sla_holidays.csv") ~ " row '" ~ (row.calendar or '') ~ "," ~ (row.date or '') ~ "'" -%}
        {%- if row.calendar not in calendars -%}
            {%- do problems.append(where ~ " names calendar '" ~ (row.calendar or '') ~ "', which sla_calendars.csv does not define"
                ~ (" (it defines " ~ calendars | sort | join(', ') ~ ")" if calendars else "")
                ~ ". Fix: use one of its calendars' names exactly, or add that calendar's hours.") -%}
        {%- endif -%}
        {%- if not sla_is_iso_date(row.date) -%}
            {%- do problems.append(where ~ " has date '" ~ (row.date or '') ~ "', not a day. Fix: write the local day as YYYY-MM-DD, e.g. 2025-12-25.") -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(problems) }}
{%- endmacro %}

{% macro sla_policy_calendar_problems(rows, calendars) -%}
    {%- set problems = [] -%}
    {%- for row in rows if row.calendar and row.calendar not in calendars -%}
        {%- do problems.append("sla_policies.csv row for team '" ~ row.team_name ~ "' names calendar '" ~ row.calendar
            ~ "', which sla_calendars.csv does not define"
            ~ (" (it defines " ~ calendars | sort | join(', ') ~ ")" if calendars else "")
            ~ ". Fix: use one of its calendars' names exactly, add that calendar's hours to sla_calendars.csv,"
            ~ " or leave the column empty for calendar time.") -%}
    {%- endfor -%}
    {{ return(problems) }}
{%- endmacro %}
