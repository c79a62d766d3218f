-- agent_daily_performance has one row per agent and UTC day.
select agent_id, call_day, count(*) as rows_for_the_day
from {{ ref('agent_daily_performance') }}
group by agent_id, call_day
having count(*) > 1
