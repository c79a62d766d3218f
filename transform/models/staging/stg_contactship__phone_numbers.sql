{{ config(materialized=contactship_full_table_materialization()) }}

with latest as (
    {{ contactship_latest('phone_numbers', full_table=true) }}
)

select
    {{ contactship_text('id') }} as phone_number_id,
    {{ contactship_text('phone_number') }} as phone_number,
    {{ contactship_text('type') }} as number_type,
    {{ contactship_timestamp('created_at') }} as created_at
from latest
