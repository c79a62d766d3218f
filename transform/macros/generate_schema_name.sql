{#- Marts land in `analytics` and staging in `staging`, as named: dbt's default
    would prefix them with the target schema (`analytics_analytics`). -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
