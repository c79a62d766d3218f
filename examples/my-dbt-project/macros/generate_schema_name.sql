{#- This project's own convention, which the package's models follow too:
    a custom schema becomes `<custom>_<target schema>` (`analytics_reporting`). -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}_{{ target.schema }}
    {%- endif -%}
{%- endmacro %}
