-- The sla_policies seed must hold exactly one '*' row: the policy of every unlisted team.
{{ config(meta={'description': "Exactly one '*' row: the policy of every team the CSV does not list."}) }}
select count(*) as default_rows
from {{ ref('sla_policies') }}
where team_name = '*'
having count(*) <> 1
