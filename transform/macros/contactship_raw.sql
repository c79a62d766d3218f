{#-
  Everything that differs between loaders is here, so that staging and marts
  are written once:
    - which columns a loader added (`_sdc_*` versions, soft deletes);
    - fields as columns, or every record in one JSON column (z3 BigQuery with
      denormalized: false: set the var `contactship_json_column: data`);
    - how each warehouse reads a key out of a JSON object, and quotes `from`.
-#}

{#- The raw table's column names, lower-cased (none while dbt only parses). -#}
{% macro contactship_columns(relation) -%}
    {%- set names = [] -%}
    {%- if execute -%}
        {%- for column in adapter.get_columns_in_relation(relation) -%}
            {%- do names.append(column.name | lower) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(names) }}
{%- endmacro %}

{#- The raw schemas to build from: `contactship_schemas` (a list, or a
    comma-separated string, also read from $CONTACTSHIP_SCHEMAS so a Meltano
    job can set it), else the one `contactship_schema`. -#}
{% macro contactship_schemas() -%}
    {%- set listed = var('contactship_schemas', none) or env_var('CONTACTSHIP_SCHEMAS', '') -%}
    {%- if listed is string -%}
        {%- set listed = listed.split(',') | map('trim') | reject('equalto', '') | list -%}
    {%- endif -%}
    {{ return(listed or [var('contactship_schema')]) }}
{%- endmacro %}

{#- A raw table in one of those schemas. Through `source()`, so that lineage
    (docs, freshness, orchestrators) sees the dependency. -#}
{% macro contactship_relation(table, schema) -%}
    {{ return(source('contactship', table).incorporate(path={'schema': schema})) }}
{%- endmacro %}

{#- Every raw schema's `table`, latest versions only, as the columns the
    caller block selects, with `source_relation` (the schema it came from)
    first. `where` filters raw rows before versions are ranked; in it,
    `__source_relation__` stands for the schema's name as a string literal. -#}
{% macro contactship_union(table, key='id', full_table=false, where=none) -%}
    {%- set columns = caller() -%}
    {%- for schema in contactship_schemas() %}
    select
        cast('{{ schema }}' as {{ dbt.type_string() }}) as source_relation,
        {{ columns }}
    from (
        {{ contactship_latest(
            contactship_relation(table, schema),
            key=key,
            full_table=full_table,
            where=where.replace('__source_relation__', "'" ~ schema ~ "'") if where else none,
        ) }}
    ) as latest
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}

{#- One row per key: the latest version a loader wrote (loaders that append
    keep every run's copy), without the rows it marked deleted.
    `full_table`: the stream is re-listed whole every run, and rows its
    newest whole read did not list are dropped, whatever the loader does with
    ACTIVATE_VERSION (see contactship_deletes.sql). -#}
{% macro contactship_latest(relation, key='id', full_table=false, where=none) -%}
    {%- set columns = contactship_columns(relation) -%}
    {%- set order = [] -%}
    {%- for column in ['_sdc_batched_at', '_sdc_received_at', '_sdc_extracted_at', '_sdc_sequence'] -%}
        {%- if column in columns -%}{%- do order.append(column ~ ' desc') -%}{%- endif -%}
    {%- endfor %}
    select *
    from (
        select
            raw.*,
            row_number() over (
                partition by {{ contactship_field(key, 'raw') }}
                {%- if order %}
                order by {{ order | join(', ') }}
                {%- endif %}
            ) as contactship_version_rank
        from {{ relation }} as raw
        {%- if where %}
        where {{ where }}
        {%- endif %}
    ) as versions
    where contactship_version_rank = 1
    {%- if '_sdc_deleted_at' in columns %}
        and _sdc_deleted_at is null
    {%- endif %}
    {%- if full_table %}
        {{ contactship_current_rows(relation, key=key) }}
    {%- endif %}
{%- endmacro %}

{#- A top-level field of the record, as a column reference. -#}
{% macro contactship_field(name, alias=none) -%}
    {%- set prefix = alias ~ '.' if alias else '' -%}
    {%- set json_column = var('contactship_json_column', none) -%}
    {%- if json_column -%}
        {{ contactship_json_text(prefix ~ json_column, name) }}
    {%- else -%}
        {{ prefix }}{{ contactship_quote(name) }}
    {%- endif -%}
{%- endmacro %}

{#- A top-level field that holds an object, ready for `contactship_json_text`. -#}
{% macro contactship_object(name) -%}
    {%- set json_column = var('contactship_json_column', none) -%}
    {%- if json_column -%}
        {{ contactship_json_object(json_column, name) }}
    {%- else -%}
        {{ contactship_quote(name) }}
    {%- endif -%}
{%- endmacro %}

{% macro contactship_quote(name) -%}
    {{ return(adapter.dispatch('contactship_quote', 'contactship')(name)) }}
{%- endmacro %}

{% macro default__contactship_quote(name) -%}
    {%- if name in ['from'] -%}{{ adapter.quote(name) }}{%- else -%}{{ name }}{%- endif -%}
{%- endmacro %}

{#- Snowflake stores unquoted names upper-case. -#}
{% macro snowflake__contactship_quote(name) -%}
    {%- if name in ['from'] -%}"{{ name | upper }}"{%- else -%}{{ name }}{%- endif -%}
{%- endmacro %}

{#- A scalar at `key` in a JSON object, as text. -#}
{% macro contactship_json_text(expression, key) -%}
    {{ return(adapter.dispatch('contactship_json_text', 'contactship')(expression, key)) }}
{%- endmacro %}

{% macro default__contactship_json_text(expression, key) -%}
    json_extract_string({{ expression }}, '$.{{ key }}')
{%- endmacro %}

{% macro postgres__contactship_json_text(expression, key) -%}
    (({{ expression }})::jsonb ->> '{{ key }}')
{%- endmacro %}

{% macro snowflake__contactship_json_text(expression, key) -%}
    {{ expression }}:{{ key }}::varchar
{%- endmacro %}

{% macro bigquery__contactship_json_text(expression, key) -%}
    json_value({{ expression }}, '$.{{ key }}')
{%- endmacro %}

{#- An object at `key` in a JSON object, still JSON. -#}
{% macro contactship_json_object(expression, key) -%}
    {{ return(adapter.dispatch('contactship_json_object', 'contactship')(expression, key)) }}
{%- endmacro %}

{% macro default__contactship_json_object(expression, key) -%}
    json_extract({{ expression }}, '$.{{ key }}')
{%- endmacro %}

{% macro postgres__contactship_json_object(expression, key) -%}
    (({{ expression }})::jsonb -> '{{ key }}')
{%- endmacro %}

{% macro snowflake__contactship_json_object(expression, key) -%}
    {{ expression }}:{{ key }}
{%- endmacro %}

{% macro bigquery__contactship_json_object(expression, key) -%}
    json_query({{ expression }}, '$.{{ key }}')
{%- endmacro %}

{#- Casts written once for every warehouse. -#}
{% macro contactship_text(name) -%}
    cast({{ contactship_field(name) }} as {{ dbt.type_string() }})
{%- endmacro %}

{% macro contactship_timestamp(name) -%}
    cast({{ contactship_field(name) }} as {{ dbt.type_timestamp() }})
{%- endmacro %}

{% macro contactship_number(name) -%}
    cast({{ contactship_field(name) }} as {{ contactship_double() }})
{%- endmacro %}

{#- A double-precision float (DuckDB's `float` is single precision). -#}
{% macro contactship_double() -%}
    {{ return(adapter.dispatch('contactship_double', 'contactship')()) }}
{%- endmacro %}

{% macro default__contactship_double() -%}
    {{ dbt.type_float() }}
{%- endmacro %}

{% macro duckdb__contactship_double() -%}
    double
{%- endmacro %}

{#- How many rows satisfy a condition, on every warehouse. -#}
{% macro contactship_count_if(condition) -%}
    sum(case when {{ condition }} then 1 else 0 end)
{%- endmacro %}

{#- The length of a text field, in characters. -#}
{% macro contactship_length(name) -%}
    {{ dbt.length(contactship_text(name)) }}
{%- endmacro %}

{#- A call's columns, typed and renamed, for `contactship_union('calls')`. -#}
{% macro contactship_call_columns() -%}
    {{ contactship_text('id') }} as call_id,
    {{ contactship_timestamp('created_at') }} as created_at,
    {{ contactship_timestamp('start_at') }} as started_at,
    {{ contactship_timestamp('finished_at') }} as finished_at,
    {{ contactship_text('agent_id') }} as agent_id,
    {{ contactship_text('campaign_id') }} as campaign_id,
    {{ contactship_text('direction') }} as direction,
    {{ contactship_text('from') }} as from_number,
    {{ contactship_text('call_status') }} as call_status,
    {{ contactship_text('call_result') }} as call_result,
    {{ contactship_text('disconnection_reason') }} as disconnection_reason,
    {{ contactship_text('type') }} as call_type,
    {{ contactship_text('call_record') }} as recording_url,
    {{ contactship_number('duration') }} as duration_seconds,
    {{ contactship_json_text(contactship_object('contact'), 'id') }} as contact_id,
    {{ contactship_json_text(contactship_object('call_analysis'), 'summary') }} as analysis_summary,
    {{ contactship_json_text(contactship_object('call_analysis'), 'sentiment') }} as analysis_sentiment
{%- endmacro %}

{#- One row per element of each row's `chat_history` (a JSON array of turns):
    the row's `source_relation`, `call_id`, `created_at`, `agent_id`, with
    `turn_index` (0-based), `role` and `content`. A null array gives no rows. -#}
{% macro contactship_turns(calls) -%}
    {{ return(adapter.dispatch('contactship_turns', 'contactship')(calls)) }}
{%- endmacro %}

{% macro default__contactship_turns(calls) -%}
    select
        calls.source_relation, calls.call_id, calls.created_at, calls.agent_id,
        turns.turn_index,
        json_extract_string(calls.chat_history, '$[' || turns.turn_index || '].role') as role,
        json_extract_string(calls.chat_history, '$[' || turns.turn_index || '].content') as content
    from {{ calls }} as calls,
        (select unnest(range(cast(json_array_length(calls.chat_history) as bigint))) as turn_index) as turns
{%- endmacro %}

{#- to_jsonb: target-postgres may store the array as jsonb or jsonb[]. -#}
{% macro postgres__contactship_turns(calls) -%}
    select
        calls.source_relation, calls.call_id, calls.created_at, calls.agent_id,
        cast(turns.ordinal - 1 as integer) as turn_index,
        turns.turn ->> 'role' as role,
        turns.turn ->> 'content' as content
    from {{ calls }} as calls
    cross join lateral jsonb_array_elements(to_jsonb(calls.chat_history))
        with ordinality as turns (turn, ordinal)
{%- endmacro %}

{% macro snowflake__contactship_turns(calls) -%}
    select
        calls.source_relation, calls.call_id, calls.created_at, calls.agent_id,
        cast(turns.index as integer) as turn_index,
        turns.value:role::varchar as role,
        turns.value:content::varchar as content
    from {{ calls }} as calls,
        lateral flatten(input => calls.chat_history) as turns
{%- endmacro %}

{#- Denormalized, z3 loads the array as a repeated column; in one JSON
    column it is still JSON. Positions come from generate_array rather than
    `unnest ... with offset`, which bqemulator mistranslates. -#}
{% macro bigquery__contactship_turns(calls) -%}
    {%- set turns = 'json_query_array(calls.chat_history)' if var('contactship_json_column', none) else 'calls.chat_history' -%}
    select
        calls.source_relation, calls.call_id, calls.created_at, calls.agent_id,
        turn_index,
        json_value(to_json({{ turns }}[offset(turn_index)]), '$.role') as role,
        json_value(to_json({{ turns }}[offset(turn_index)]), '$.content') as content
    from {{ calls }} as calls
    cross join unnest(generate_array(0, array_length({{ turns }}) - 1)) as turn_index
{%- endmacro %}

{#- The measures every daily mart gives over `fct_calls as fct`. -#}
{% macro contactship_call_measures() -%}
    count(*) as calls,
    {{ contactship_count_if('fct.is_completed') }} as completed_calls,
    cast({{ contactship_count_if('fct.is_completed') }} as {{ contactship_double() }})
        / count(*) as completion_rate,
    sum(fct.duration_seconds) as total_duration_seconds,
    avg(fct.duration_seconds) as avg_duration_seconds
{%- endmacro %}
