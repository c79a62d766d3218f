-- One row per call, with its agent's name and the UTC day it was placed.
select
    calls.call_id,
    calls.created_at,
    cast({{ dbt.date_trunc('day', 'calls.created_at') }} as date) as call_day,
    calls.agent_id,
    agents.agent_name,
    calls.campaign_id,
    calls.direction,
    calls.call_status,
    calls.call_result,
    case when calls.call_status = 'completed' then 1 else 0 end as is_completed,
    calls.duration_seconds,
    calls.contact_id,
    calls.from_number,
    calls.started_at,
    calls.finished_at,
    calls.disconnection_reason,
    calls.call_type,
    calls.recording_url,
    calls.analysis_summary,
    calls.analysis_sentiment
from {{ ref('stg_contactship__calls') }} as calls
left join {{ ref('stg_contactship__agents') }} as agents
    on agents.agent_id = calls.agent_id
