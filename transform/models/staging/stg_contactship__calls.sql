with latest as (
    {{ contactship_latest('calls') }}
)

select
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
from latest
