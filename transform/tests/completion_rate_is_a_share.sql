-- A completion rate is completed_calls / calls, between 0 and 1.
select 'agent_daily_performance' as mart, completion_rate, completed_calls, calls
from {{ ref('agent_daily_performance') }}
where completion_rate < 0 or completion_rate > 1 or completed_calls > calls
union all
select 'campaign_performance' as mart, completion_rate, completed_calls, calls
from {{ ref('campaign_performance') }}
where completion_rate < 0 or completion_rate > 1 or completed_calls > calls
