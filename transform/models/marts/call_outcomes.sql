-- One row per agent, UTC day and outcome (status, result, disconnection
-- reason, sentiment): why calls end the way they do.
{{ config(**contactship_daily_config()) }}

select
    fct.source_relation,
    fct.agent_id,
    fct.call_day,
    fct.call_status,
    fct.call_result,
    fct.disconnection_reason,
    fct.analysis_sentiment,
    count(*) as calls,
    sum(fct.duration_seconds) as total_duration_seconds
from {{ ref('fct_calls') }} as fct
{{ contactship_only_days_to_rebuild() }}
group by 1, 2, 3, 4, 5, 6, 7
