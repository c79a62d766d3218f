{#-
  Deletes that need no loader support (see the README's "Deletes").

  The tap stamps every row of a full-table stream (`phone_numbers`, `agents`,
  `contacts`) with `read_version`, its run's version, and writes one row to
  `whole_reads` (stream, version, finished_at, row_count) per list it read
  whole, after every other stream: a run that fails, or a contacts list that
  may be cut, adds none. A row is current when its version is at least that
  of the stream's newest whole read whose rows all reached the warehouse:
  at least `row_count` ids whose newest copy is of that version or later.
  That guard covers a loader that committed `whole_reads` but failed before
  committing the list's own rows (target-snowflake drains streams in
  parallel): such a read is not trusted, and the one before it decides.
  Older rows stay in the raw table (a soft delete); only the models drop them.
-#}

{#- The condition (starting with `and`) that keeps only current rows of
    `relation`, a raw full-table stream, as columns of its ranked versions;
    empty when the schema has no `whole_reads` yet (nothing is dropped). -#}
{% macro contactship_current_rows(relation, key='id') -%}
    {%- set reads = contactship_relation('whole_reads', relation.schema) -%}
    {%- if not execute or load_relation(reads) is none -%}
        {{ return('') }}
    {%- endif -%}
    {%- if not var('contactship_json_column', none)
        and 'read_version' not in contactship_columns(relation) -%}
        {{ return('') }}
    {%- endif -%}
    and coalesce({{ contactship_integer(contactship_field('read_version')) }}, 0) >= (
        select coalesce(max(cumulative.read_version), 0)
        from (
            select
                points.read_version,
                points.is_read,
                points.rows_expected,
                sum(points.rows_present) over (
                    order by points.read_version desc, points.is_read
                    rows between unbounded preceding and current row
                ) as rows_at_or_after
            from (
                select
                    ids.newest as read_version,
                    count(*) as rows_present,
                    0 as is_read,
                    0 as rows_expected
                from (
                    select max(coalesce({{ contactship_integer(contactship_field('read_version', 'raw')) }}, 0)) as newest
                    from {{ relation }} as raw
                    group by {{ contactship_field(key, 'raw') }}
                ) as ids
                group by ids.newest
                union all
                select
                    {{ contactship_integer(contactship_field('version', 'reads')) }},
                    0,
                    1,
                    {{ contactship_integer(contactship_field('row_count', 'reads')) }}
                from {{ reads }} as reads
                where {{ contactship_field('stream', 'reads') }} = '{{ relation.identifier | lower }}'
            ) as points
        ) as cumulative
        where cumulative.is_read = 1
            and cumulative.rows_at_or_after >= cumulative.rows_expected
    )
{%- endmacro %}

{% macro contactship_integer(expression) -%}
    cast({{ expression }} as {{ dbt.type_bigint() }})
{%- endmacro %}
