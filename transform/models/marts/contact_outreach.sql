-- One row per contact, called or not: how often and how recently it was tried.
with attempts as (
    select
        source_relation,
        contact_id,
        count(*) as attempts,
        {{ contactship_count_if('is_completed') }} as completed_calls,
        min(created_at) as first_call_at,
        max(created_at) as last_call_at
    from {{ ref('fct_calls') }}
    where contact_id is not null
    group by source_relation, contact_id
),

ranked as (
    select
        source_relation,
        contact_id,
        call_status,
        call_result,
        row_number() over (
            partition by source_relation, contact_id order by created_at desc, call_id desc
        ) as recency
    from {{ ref('fct_calls') }}
    where contact_id is not null
)

select
    contacts.source_relation,
    contacts.contact_id,
    contacts.full_name,
    contacts.phone_number,
    contacts.email,
    contacts.country,
    coalesce(attempts.attempts, 0) as attempts,
    coalesce(attempts.completed_calls, 0) as completed_calls,
    attempts.first_call_at,
    attempts.last_call_at,
    ranked.call_status as last_call_status,
    ranked.call_result as last_call_result,
    attempts.attempts is null as never_called
from {{ ref('stg_contactship__contacts') }} as contacts
left join attempts
    on attempts.source_relation = contacts.source_relation
    and attempts.contact_id = contacts.contact_id
left join ranked
    on ranked.source_relation = contacts.source_relation
    and ranked.contact_id = contacts.contact_id
    and ranked.recency = 1
