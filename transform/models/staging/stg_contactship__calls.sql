{#- The columns are `contactship_call_columns`, shared with `fct_calls`,
    which reads the raw calls itself so that an incremental build ranks only
    the calls it re-reads. -#}
{% call contactship_union('calls') %}
    {{ contactship_call_columns() }}
{% endcall %}
