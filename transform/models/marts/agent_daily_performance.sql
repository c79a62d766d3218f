-- One row per agent and UTC day on which it made calls.
select
    agent_id,
    agent_name,
    call_day,
    count(*) as calls,
    sum(is_completed) as completed_calls,
    cast(sum(is_completed) as {{ contactship_double() }}) / count(*) as completion_rate,
    sum(duration_seconds) as total_duration_seconds,
    avg(duration_seconds) as avg_duration_seconds
from {{ ref('fct_calls') }}
where agent_id is not null
group by agent_id, agent_name, call_day
