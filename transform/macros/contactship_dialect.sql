{#-
  What differs between warehouses (DuckDB, PostgreSQL, Snowflake, BigQuery):
  how a key is read out of a JSON object, how a JSON array becomes rows, how
  `from` is quoted, which type is a double. Every dialect difference is an
  `adapter.dispatch` here, so the other macro files and the models hold none.
-#}

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
