{#-
  How the marts that grow with calls stay incremental on every warehouse.

  The tap re-reads the calls created in the last `calls_lookback_days` before
  its bookmark, so a call can only change in the warehouse inside that window:
  an incremental build re-reads the raw calls created since the newest call it
  already holds, minus the same window (`contactship_lookback_days`), per raw
  schema. Calls of an agent that was renamed or removed are re-read too, so
  `agent_name` is never stale. A raw schema the table has never seen is read
  whole. The daily marts then rebuild every day those calls fall on.
-#}

{#- The look-back as whole hours (the tap takes fractions of days). -#}
{% macro contactship_lookback_hours() -%}
    {%- set days = var('contactship_lookback_days', none) -%}
    {%- if days is none -%}
        {%- set days = env_var('TAP_CONTACTSHIP_CALLS_LOOKBACK_DAYS', '3') -%}
    {%- endif -%}
    {{ return((days | float * 24) | round(0, 'ceil') | int) }}
{%- endmacro %}

{#- Upsert on a unique key: MERGE on PostgreSQL 15 and BigQuery (which has
    no delete+insert); delete+insert on DuckDB (no MERGE in dbt-duckdb) and
    on Snowflake, where it is the strategy our Snowflake emulator can run and
    so the one that is tested. -#}
{% macro contactship_upsert_strategy() -%}
    {{ return('delete+insert' if target.type in ['duckdb', 'snowflake'] else 'merge') }}
{%- endmacro %}

{#- Replacing whole (source_relation, call_day) groups: delete+insert with a
    key that is not unique deletes every row of the day, then inserts the day
    rebuilt. BigQuery has no delete+insert: its daily marts are tables. -#}
{% macro contactship_daily_config() -%}
    {%- if target.type == 'bigquery' -%}
        {{ return({'materialized': 'table'}) }}
    {%- endif -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'delete+insert',
        'unique_key': ['source_relation', 'call_day'],
        'on_schema_change': 'fail',
    }) }}
{%- endmacro %}

{#- Raw calls an incremental build of `this` must re-read (see above), as a
    filter for `contactship_union`; `this` holds `source_relation`,
    `created_at` and, when `agents` is true, `agent_id` and `agent_name`. -#}
{% macro contactship_calls_to_reread(agents=true) -%}
    not exists (
        select 1 from {{ this }} as built
        where built.source_relation = __source_relation__
    )
    or {{ contactship_timestamp('created_at') }} >= (
        select {{ dbt.dateadd('hour', -contactship_lookback_hours(), 'max(built.created_at)') }}
        from {{ this }} as built
        where built.source_relation = __source_relation__
    )
    {%- if agents %}
    or {{ contactship_text('agent_id') }} in (
        select built.agent_id
        from (
            select distinct agent_id, agent_name
            from {{ this }}
            where source_relation = __source_relation__ and agent_id is not null
        ) as built
        left join {{ ref('stg_contactship__agents') }} as agents
            on agents.source_relation = __source_relation__
            and agents.agent_id = built.agent_id
        where agents.agent_name is distinct from built.agent_name
    )
    {%- endif %}
{%- endmacro %}

{#- The (source_relation, call_day) groups a daily mart rebuilds, as a
    query to join with `fct_calls`: every day from the newest one it holds
    minus the look-back (and a day), and, when the mart names agents, the
    days of agents renamed since. Joined rather than filtered with a
    correlated subquery, which PostgreSQL would run once per call. -#}
{% macro contactship_days_to_rebuild(agents=false) -%}
    select distinct calls.source_relation, calls.call_day
    from {{ ref('fct_calls') }} as calls
    left join (
        select source_relation, max(call_day) as newest_day
        from {{ this }}
        group by source_relation
    ) as built
        on built.source_relation = calls.source_relation
    where built.newest_day is null
        or calls.call_day >= cast(
            {{ dbt.dateadd('hour', -contactship_lookback_hours() - 24, 'built.newest_day') }}
            as date
        )
    {%- if agents %}
    union
    select built.source_relation, built.call_day
    from {{ this }} as built
    left join {{ ref('dim_agents') }} as agents
        on agents.source_relation = built.source_relation
        and agents.agent_id = built.agent_id
    where agents.agent_name is distinct from built.agent_name
    {%- endif %}
{%- endmacro %}

{#- In a daily mart over `fct_calls as fct`: on an incremental build, only
    the days `contactship_days_to_rebuild` lists. -#}
{% macro contactship_only_days_to_rebuild(agents=false) -%}
    {%- if is_incremental() %}
    inner join ({{ contactship_days_to_rebuild(agents=agents) }}) as days
        on days.source_relation = fct.source_relation
        and days.call_day = fct.call_day
    {%- endif %}
{%- endmacro %}
