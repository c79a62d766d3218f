-- One row per agent and raw schema: its settings and when it called.
with calls as (
    select
        source_relation,
        agent_id,
        count(*) as calls,
        min(created_at) as first_call_at,
        max(created_at) as last_call_at
    from {{ ref('fct_calls') }}
    where agent_id is not null
    group by source_relation, agent_id
)

select
    agents.source_relation,
    agents.agent_id,
    agents.agent_name,
    agents.persona_name,
    agents.language,
    agents.voice_id,
    agents.conversation_purpose,
    agents.prompt_chars,
    agents.created_at,
    agents.updated_at,
    coalesce(calls.calls, 0) as calls,
    calls.first_call_at,
    calls.last_call_at
from {{ ref('stg_contactship__agents') }} as agents
left join calls
    on calls.source_relation = agents.source_relation
    and calls.agent_id = agents.agent_id
