{% call contactship_union('contacts', full_table=true) %}
    {{ contactship_text('id') }} as contact_id,
    {{ contactship_text('full_name') }} as full_name,
    {{ contactship_text('phone_number') }} as phone_number,
    {{ contactship_text('email') }} as email,
    {{ contactship_text('country') }} as country,
    {{ contactship_timestamp('created_at') }} as created_at
{% endcall %}
