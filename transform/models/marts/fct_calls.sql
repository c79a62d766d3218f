-- One row per call and raw schema, with its agent's name and the UTC day it was placed.
{{ config(**contactship_incremental_config(['source_relation', 'call_id'])) }}

with calls as (
    {% call contactship_union(
        'calls', where=contactship_calls_to_reread() if is_incremental() else none
    ) %}
        {{ contactship_call_columns() }}
    {% endcall %}
)

select
    calls.source_relation,
    calls.call_id,
    calls.created_at,
    cast({{ dbt.date_trunc('day', 'calls.created_at') }} as date) as call_day,
    calls.agent_id,
    agents.agent_name,
    calls.campaign_id,
    calls.direction,
    calls.call_status,
    calls.call_result,
    coalesce(calls.call_status = 'completed', false) as is_completed,
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
from calls
left join {{ ref('stg_contactship__agents') }} as agents
    on agents.source_relation = calls.source_relation
    and agents.agent_id = calls.agent_id
