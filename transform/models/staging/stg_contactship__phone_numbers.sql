{% call contactship_union('phone_numbers', full_table=true) %}
    {{ contactship_text('id') }} as phone_number_id,
    {{ contactship_text('phone_number') }} as phone_number,
    {{ contactship_text('type') }} as number_type,
    {{ contactship_timestamp('created_at') }} as created_at
{% endcall %}
