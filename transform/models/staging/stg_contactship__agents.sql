{% call contactship_union('agents', full_table=true) %}
    {{ contactship_text('id') }} as agent_id,
    {{ contactship_text('name') }} as agent_name,
    {{ contactship_text('person_name') }} as persona_name,
    {{ contactship_text('language') }} as language,
    {{ contactship_text('conversation_purpose') }} as conversation_purpose,
    {{ contactship_text('voice_id') }} as voice_id,
    {{ contactship_length('prompt') }} as prompt_chars,
    {{ contactship_timestamp('created_at') }} as created_at,
    {{ contactship_timestamp('updated_at') }} as updated_at
{% endcall %}
