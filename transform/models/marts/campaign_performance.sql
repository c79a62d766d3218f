-- One row per campaign and UTC day with calls of that campaign.
{{ config(**contactship_daily_config()) }}

select
    fct.source_relation,
    fct.campaign_id,
    fct.call_day,
    count(*) as calls,
    {{ contactship_count_if('fct.is_completed') }} as completed_calls,
    cast({{ contactship_count_if('fct.is_completed') }} as {{ contactship_double() }})
        / count(*) as completion_rate,
    sum(fct.duration_seconds) as total_duration_seconds,
    avg(fct.duration_seconds) as avg_duration_seconds,
    count(distinct fct.contact_id) as contacts_called,
    count(distinct fct.agent_id) as agents
from {{ ref('fct_calls') }} as fct
{{ contactship_only_days_to_rebuild() }}
where fct.campaign_id is not null
group by fct.source_relation, fct.campaign_id, fct.call_day
