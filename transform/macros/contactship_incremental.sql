{#-
  How the marts that grow with calls stay incremental on every warehouse.

  The tap re-reads the calls created in the last `calls_lookback_days` before
  its bookmark, so a call can only change in the warehouse inside that window:
  an incremental build re-reads the raw calls created since the newest call it
  already holds, minus the same window (`contactship_lookback_days`), per raw
  schema. Calls of an agent that was renamed or removed are re-read too, so
  `agent_name` is never stale. A raw schema the table has never seen is read
  whole. The daily marts then rebuild every day of the window.

  Rebuilding means replacing: an upsert only touches the keys present in the
  new rows, so a group that a change emptied (the day a call moved away from,
  the turns a transcript lost, the campaign a call left) would stay. The
  `contactship_replace` strategy (below) therefore deletes, before inserting,
  every row of the window the rows were recomputed for, whether or not it
  comes back, and every row of a raw schema no longer listed.
-#}

{#- The look-back as whole hours (the tap takes fractions of days). -#}
{% macro contactship_lookback_hours() -%}
    {%- set days = var('contactship_lookback_days', none) -%}
    {%- if days is none -%}
        {%- set days = env_var('TAP_CONTACTSHIP_CALLS_LOOKBACK_DAYS', '3') -%}
    {%- endif -%}
    {{ return((days | float * 24) | round(0, 'ceil') | int) }}
{%- endmacro %}

{#- The first `call_day` a daily mart rebuilds, from the newest day it holds
    (an expression): the look-back and a day before it. -#}
{% macro contactship_day_cutoff(newest_day) -%}
    cast({{ dbt.dateadd('hour', -contactship_lookback_hours() - 24, newest_day) }} as date)
{%- endmacro %}

{#- The first `created_at` re-read, from the newest one held (an
    expression): the look-back before it. -#}
{% macro contactship_time_cutoff(newest_created_at) -%}
    {{ dbt.dateadd('hour', -contactship_lookback_hours(), newest_created_at) }}
{%- endmacro %}

{#- An incremental mart replaced by `contactship_replace` on `key`; `window`
    names which old rows it recomputes whether or not they come back:
    `day` (a daily mart: its days since `contactship_day_cutoff`), `time`
    (rows created since `contactship_time_cutoff`) or none (only the keys of
    the new rows). dbt-bigquery runs no custom strategy (it accepts only its
    own three): there the marts with a window are tables, rebuilt whole, and
    `fct_calls` merges on `key` after a pre-hook deletes the schemas no
    longer listed. A full refresh on Snowflake and BigQuery is `create or
    replace`, which leaves no `__dbt_backup`; the post-hook covers DuckDB. -#}
{% macro contactship_incremental_config(key, window=none) -%}
    {%- set built = {
        'materialized': 'incremental',
        'unique_key': key,
        'on_schema_change': 'fail',
    } -%}
    {%- if target.type == 'bigquery' -%}
        {%- if window -%}
            {{ return({'materialized': 'table'}) }}
        {%- endif -%}
        {%- do built.update({
            'incremental_strategy': 'merge',
            'pre_hook': ['{{ contactship_delete_unlisted(this) if is_incremental() }}'],
        }) -%}
    {%- else -%}
        {%- do built.update({
            'incremental_strategy': 'contactship_replace',
            'contactship_window': window,
            'post_hook': [{'sql': '{{ contactship_drop_leftovers() }}', 'transaction': false}],
        }) -%}
    {%- endif -%}
    {{ return(built) }}
{%- endmacro %}

{#- Delete the rows of `relation` whose raw schema is no longer listed. -#}
{% macro contactship_delete_unlisted(relation) -%}
    delete from {{ relation }}
    where source_relation not in (
        {%- for schema in contactship_schemas() %}'{{ schema }}'{% if not loop.last %}, {% endif %}{% endfor -%}
    )
{%- endmacro %}

{#- A daily mart: whole (source_relation, call_day) groups are replaced. -#}
{% macro contactship_daily_config() -%}
    {{ return(contactship_incremental_config(['source_relation', 'call_day'], window='day')) }}
{%- endmacro %}

{#- The `contactship_replace` incremental strategy (dbt calls it by name).
    In this order, so that the window's cutoff is read before any row of a
    listed schema goes (the same cutoff the model used): delete the rows of
    raw schemas no longer listed, then the rows of the window the new rows
    were computed for, then the rows whose key comes back; insert the new
    rows. Joins (`using`) rather than a correlated subquery in an `or`,
    which PostgreSQL cannot turn into a join. -#}
{% macro get_incremental_contactship_replace_sql(arg_dict) -%}
    {%- set target_relation = arg_dict['target_relation'] -%}
    {%- set new_rows = arg_dict['temp_relation'] -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    {%- set window = config.get('contactship_window') -%}
    {{ contactship_delete_unlisted(target_relation) }};

    {% if window == 'day' -%}
    delete from {{ target_relation }} as built
    using (
        select source_relation, {{ contactship_day_cutoff('max(call_day)') }} as cutoff
        from {{ target_relation }}
        group by source_relation
    ) as window_start
    where window_start.source_relation = built.source_relation
        and built.call_day >= window_start.cutoff;
    {%- elif window == 'time' -%}
    delete from {{ target_relation }} as built
    using (
        select
            source_relation,
            {{ contactship_time_cutoff('max(created_at)') }} as cutoff
        from {{ target_relation }}
        group by source_relation
    ) as window_start
    where window_start.source_relation = built.source_relation
        and built.created_at >= window_start.cutoff;
    {%- endif %}

    delete from {{ target_relation }} as built
    using {{ new_rows }} as fresh
    where
    {%- for column in arg_dict['unique_key'] %}
        {% if not loop.first %}and {% endif %}fresh.{{ column }} = built.{{ column }}
    {%- endfor %};

    insert into {{ target_relation }} ({{ columns }})
    select {{ columns }} from {{ new_rows }}
{%- endmacro %}

{#- A post-hook outside the transaction: drop this model's `__dbt_backup`
    and `__dbt_tmp` relations. dbt-duckdb 1.9.6 drops the backup of a full
    refresh in a transaction it never commits (it opens one to list indexes
    first), so the table survives; this statement joins that transaction, or
    opens one, and commits it. -#}
{% macro contactship_drop_leftovers() -%}
    {%- for leftover in [make_backup_relation(this, 'table'), make_intermediate_relation(this)] %}
        {%- call statement('contactship_drop_leftovers', auto_begin=true) -%}
            drop table if exists {{ leftover }}
        {%- endcall -%}
    {%- endfor %}
    {%- do adapter.commit() -%}
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
        select {{ contactship_time_cutoff('max(built.created_at)') }}
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
        or calls.call_day >= {{ contactship_day_cutoff('built.newest_day') }}
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
