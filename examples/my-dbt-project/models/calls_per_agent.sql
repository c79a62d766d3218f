-- A model of your own on the package's marts.
select agent_name, count(*) as calls, count(*) filter (where is_completed) as completed_calls
from {{ ref('fct_calls') }}
group by agent_name
