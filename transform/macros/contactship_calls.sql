{#-
  What a call is in the marts: its columns as staging and `fct_calls` type
  and name them, and the measures every daily mart gives. Written once, in
  terms of the loader and dialect macros.
-#}

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

{#- The measures every daily mart gives over `fct_calls as fct`. -#}
{% macro contactship_call_measures() -%}
    count(*) as calls,
    {{ contactship_count_if('fct.is_completed') }} as completed_calls,
    cast({{ contactship_count_if('fct.is_completed') }} as {{ contactship_double() }})
        / count(*) as completion_rate,
    sum(fct.duration_seconds) as total_duration_seconds,
    avg(fct.duration_seconds) as avg_duration_seconds
{%- endmacro %}
