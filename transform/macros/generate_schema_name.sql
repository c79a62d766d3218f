{#- Where a model lands.

    This project as dbt's root (our own pipeline): marts in `analytics` and
    staging in `staging`, as named; dbt's default would prefix them with the
    target schema (`analytics_analytics`).

    Installed as a package in someone else's project, dbt calls a package's
    own generate_schema_name for that package's models: this one then hands
    them to that project's generate_schema_name (or dbt's default), so their
    naming, not ours, decides where our models land. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if node is none or node.package_name == project_name -%}
        {%- if custom_schema_name is none -%}
            {{ target.schema }}
        {%- else -%}
            {{ custom_schema_name | trim }}
        {%- endif -%}
    {%- else -%}
        {%- set root_macros = context.get(project_name) -%}
        {%- set theirs = root_macros.get('generate_schema_name') if root_macros is mapping else none -%}
        {{ (theirs or dbt.generate_schema_name)(custom_schema_name, node) }}
    {%- endif -%}
{%- endmacro %}
