-- agent_daily_performance has one row per raw schema, agent and UTC day.
select source_relation, agent_id, call_day, count(*) as rows_for_the_day
from {{ ref('agent_daily_performance') }}
group by source_relation, agent_id, call_day
having count(*) > 1
