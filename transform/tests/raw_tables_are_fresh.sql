-- Every raw table of every schema in `contactship_schemas` was loaded within
-- `contactship_freshness_warn_hours` (`dbt source freshness` checks
-- `contactship_schema` against both thresholds). A warning, never an error:
-- one client whose loads fail must not stop the other clients' marts.
{{ config(severity='warn') }}

{%- for schema in contactship_schemas() %}
{%- for table in ['calls', 'agents', 'contacts', 'phone_numbers'] %}
select
    cast('{{ schema }}' as {{ dbt.type_string() }}) as source_relation,
    cast('{{ table }}' as {{ dbt.type_string() }}) as raw_table,
    max(_sdc_batched_at) as last_loaded_at
from {{ contactship_relation(table, schema) }}
having max(_sdc_batched_at) is null
    or max(_sdc_batched_at) < {{ dbt.dateadd(
        'hour',
        -(var('contactship_freshness_warn_hours') | int),
        dbt.current_timestamp_in_utc_backcompat(),
    ) }}
{% if not loop.last %}union all{% endif %}
{%- endfor %}
{% if not loop.last %}union all{% endif %}
{%- endfor %}
