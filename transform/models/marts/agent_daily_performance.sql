-- One row per agent and UTC day on which it made or took calls.
-- depends_on: {{ ref('dim_agents') }}
{{ config(**contactship_daily_config()) }}

select
    fct.source_relation,
    fct.agent_id,
    fct.agent_name,
    fct.call_day,
    {{ contactship_call_measures() }}
from {{ ref('fct_calls') }} as fct
{{ contactship_only_days_to_rebuild(agents=true) }}
where fct.agent_id is not null
group by fct.source_relation, fct.agent_id, fct.agent_name, fct.call_day
