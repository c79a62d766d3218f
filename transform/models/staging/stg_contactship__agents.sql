{{ config(materialized=contactship_full_table_materialization()) }}

with latest as (
    {{ contactship_latest('agents', full_table=true) }}
)

select
    {{ contactship_text('id') }} as agent_id,
    {{ contactship_text('name') }} as agent_name,
    {{ contactship_text('person_name') }} as persona_name,
    {{ contactship_text('language') }} as language,
    {{ contactship_text('conversation_purpose') }} as conversation_purpose,
    {{ contactship_text('voice_id') }} as voice_id,
    {{ contactship_timestamp('created_at') }} as created_at,
    {{ contactship_timestamp('updated_at') }} as updated_at
from latest
