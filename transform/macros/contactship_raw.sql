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

{#- One row per key: the latest version a loader wrote (loaders that append
    keep every run's copy), without the rows it marked deleted.
    `full_table`: the stream is re-listed whole every run. A loader that
    ignores ACTIVATE_VERSION (z3 target-bigquery) keeps rows the API no longer
    lists, with the table version of the last run that listed them: only the
    newest version is kept. That holds after a complete run; the staging
    model is then a table on BigQuery, rebuilt only by a job whose load
    succeeded, so a load that failed midway is not read until a run completes.
    Not for contacts: their list may be cut when the API ignores `offset`
    (the tap warns and activates nothing), so deleted contacts stay. -#}
{% macro contactship_latest(table, key='id', full_table=false) -%}
    {%- set relation = source('contactship', table) -%}
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
    ) as versions
    where contactship_version_rank = 1
    {%- if '_sdc_deleted_at' in columns %}
        and _sdc_deleted_at is null
    {%- endif %}
    {%- if full_table and contactship_loader_ignores_deletes() and '_sdc_table_version' in columns %}
        and coalesce(_sdc_table_version, 0) = (
            select coalesce(max(_sdc_table_version), 0) from {{ relation }}
        )
    {%- endif %}
{%- endmacro %}

{#- The loader ignores ACTIVATE_VERSION: z3 target-bigquery, the one we declare
    for BigQuery. -#}
{% macro contactship_loader_ignores_deletes() -%}
    {{ return(target.type == 'bigquery') }}
{%- endmacro %}

{#- Full-table staging models are tables where the loader ignores
    ACTIVATE_VERSION (see contactship_latest), views elsewhere. -#}
{% macro contactship_full_table_materialization() -%}
    {{ return('table' if contactship_loader_ignores_deletes() else 'view') }}
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
