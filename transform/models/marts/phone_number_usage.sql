-- One row per phone number: the outbound calls placed from it. The API's
-- `from` is the number that started a call, so on an inbound call it is the
-- caller's, and the API does not say which of our numbers an inbound call
-- reached: inbound use cannot be counted per number.
with outbound as (
    select
        source_relation,
        from_number,
        count(*) as calls,
        {{ contactship_count_if('is_completed') }} as completed_calls,
        max(created_at) as last_used_at
    from {{ ref('fct_calls') }}
    where direction = 'outbound'
    group by source_relation, from_number
)

select
    numbers.source_relation,
    numbers.phone_number_id,
    numbers.phone_number,
    numbers.number_type,
    coalesce(outbound.calls, 0) as calls,
    coalesce(outbound.calls, 0) as outbound_calls,
    coalesce(outbound.completed_calls, 0) as completed_outbound_calls,
    coalesce(outbound.completed_calls, 0) as completed_calls,
    outbound.last_used_at
from {{ ref('stg_contactship__phone_numbers') }} as numbers
left join outbound
    on outbound.source_relation = numbers.source_relation
    and outbound.from_number = numbers.phone_number
