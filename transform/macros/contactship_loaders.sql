{#-
  What differs between loaders, so that staging and marts are written once:
    - where each organization's raw tables are (`contactship_schemas`);
    - which columns a loader added (`_sdc_*` versions, soft deletes), and the
      latest version of each row among the copies a loader kept;
    - fields as columns, or every record in one JSON column (z3 BigQuery with
      denormalized: false: set the var `contactship_json_column: data`).
  How each warehouse spells things is in contactship_dialect.sql; what the
  calls mean, in contactship_calls.sql.
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
