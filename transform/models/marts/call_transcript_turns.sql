-- One row per turn of each call's transcript (`chat_history`, loaded when the
-- tap runs with include_transcripts); no rows, not an error, without them.
-- Replaced whole per call: the turns of every call re-read (the look-back)
-- go, and the call's current turns come back, so a shorter transcript or one
-- no longer loaded leaves no old turn.
{{ config(**contactship_incremental_config(['source_relation', 'call_id'], window='time')) }}

with calls as (
    {% call contactship_union(
        'calls', where=contactship_calls_to_reread(agents=false) if is_incremental() else none
    ) %}
        {{ contactship_text('id') }} as call_id,
        {{ contactship_timestamp('created_at') }} as created_at,
        {{ contactship_text('agent_id') }} as agent_id,
        {{ contactship_object('chat_history') }} as chat_history
    {% endcall %}
),

turns as (
    {{ contactship_turns('calls') }}
)

select
    source_relation,
    call_id,
    turn_index,
    role,
    content,
    {{ dbt.length('content') }} as content_chars,
    agent_id,
    created_at,
    cast({{ dbt.date_trunc('day', 'created_at') }} as date) as call_day
from turns
