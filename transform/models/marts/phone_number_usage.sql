-- One row per phone number: how many calls were placed from it, and when last.
select
    numbers.phone_number_id,
    numbers.phone_number,
    numbers.number_type,
    count(calls.call_id) as calls,
    sum(coalesce(calls.is_completed, 0)) as completed_calls,
    max(calls.created_at) as last_used_at
from {{ ref('stg_contactship__phone_numbers') }} as numbers
left join {{ ref('fct_calls') }} as calls
    on calls.from_number = numbers.phone_number
group by numbers.phone_number_id, numbers.phone_number, numbers.number_type
