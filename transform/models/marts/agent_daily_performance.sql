-- One row per agent and UTC day on which it made or took calls.
-- depends_on: {{ ref('dim_agents') }}
{{ config(**contactship_daily_config()) }}

select
    fct.source_relation,
    fct.agent_id,
    fct.agent_name,
    fct.call_day,
    count(*) as calls,
    {{ contactship_count_if('fct.is_completed') }} as completed_calls,
    cast({{ contactship_count_if('fct.is_completed') }} as {{ contactship_double() }})
        / count(*) as completion_rate,
    sum(fct.duration_seconds) as total_duration_seconds,
    avg(fct.duration_seconds) as avg_duration_seconds
from {{ ref('fct_calls') }} as fct
{%- if is_incremental() %}
inner join ({{ contactship_days_to_rebuild(agents=true) }}) as days
    on days.source_relation = fct.source_relation
    and days.call_day = fct.call_day
{%- endif %}
where fct.agent_id is not null
group by fct.source_relation, fct.agent_id, fct.agent_name, fct.call_day
