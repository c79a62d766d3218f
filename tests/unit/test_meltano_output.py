"""Reading a `meltano run`'s output for the Dagster code location."""

from __future__ import annotations

from contactship_orchestrate.meltano_output import last_error, rows_loaded, tap_error

TAIL = " cmd_type=elb consumer=False job_name=dev:tap-contactship-to-target-postgres"


def metric(stream: str, value: int) -> str:
    return (
        '2026-12-01T04:00:00Z [info     ] METRIC: {"type": "counter", "metric": '
        f'"record_count", "value": {value}, "tags": {{"stream": "{stream}"}}}}{TAIL}'
    )


def test_the_tap_s_line_is_read_without_meltano_s_fields():
    output = "\n".join(
        [
            f"2026-12-01T04:00:00Z [info     ] Performing extract{TAIL}",
            "2026-12-01T04:00:01Z [error    ] tap-contactship: error: the Contactship "
            f"API rejected the API key (401 Unauthorized){TAIL}",
            "2026-12-01T04:00:01Z [error    ] Extractor failed",
        ]
    )

    assert tap_error(output) == (
        "the Contactship API rejected the API key (401 Unauthorized)"
    )


def test_without_the_tap_s_line_the_last_error_line_is_whole():
    output = (
        "Loading into contactship_acme\n"
        "target-postgres: ERROR connection refused on 127.0.0.1:5432\n"
        "Loader failed\n"
        "Run invocation could not be completed\n"
    )

    assert tap_error(output) is None
    assert last_error(output) == (
        "target-postgres: ERROR connection refused on 127.0.0.1:5432"
    )
    assert last_error("one line\nthe last one\n") == "the last one"
    assert last_error("") == "?"


def test_rows_are_the_record_count_metrics_summed_per_stream():
    output = "\n".join(
        [
            metric("calls", 1000),
            metric("calls", 250),
            metric("agents", 3),
            metric("other", 9),
            "METRIC: {not json" + TAIL,
        ]
    )

    assert rows_loaded(output) == {
        "phone_numbers": 0,
        "calls": 1250,
        "agents": 3,
        "contacts": 0,
        "whole_reads": 0,
    }
