-- call_outcomes has one row per raw schema, agent, day and outcome, and its
-- calls add up to fct_calls' calls.
with outcomes as (
    select
        source_relation, agent_id, call_day, call_status, call_result,
        disconnection_reason, analysis_sentiment, count(*) as rows_for_the_outcome
    from {{ ref('call_outcomes') }}
    group by
        source_relation, agent_id, call_day, call_status, call_result,
        disconnection_reason, analysis_sentiment
    having count(*) > 1
),

totals as (
    select
        (select sum(calls) from {{ ref('call_outcomes') }}) as outcome_calls,
        (select count(*) from {{ ref('fct_calls') }}) as fact_calls
)

select 'duplicate outcome' as problem, cast(rows_for_the_outcome as {{ dbt.type_bigint() }}) as how_many
from outcomes
union all
select 'calls do not add up' as problem, cast(outcome_calls as {{ dbt.type_bigint() }}) as how_many
from totals
where coalesce(outcome_calls, 0) <> fact_calls
