"""`tap-contactship --diagnose` against the fake, in every shape it can serve.

Each case sets one variant (documented, or one the docs never show) and checks
that the report names it, that the diagnosis stayed within its request budget
and one page per list, and that neither output holds the key or any value of
the fake's organization.
"""

from __future__ import annotations

import json
import time
import typing as t

import pytest

from tap_contactship.errors import ExitCode
from tests.conftest import Run, free_port, run_cli, sync
from tests.fake_contactship import PATHS, FakeContactship, Response, trickling

SECRET = "sk-live-7f3a9c1e5b2d4e6f"
BUDGET = 20


@pytest.fixture(autouse=True)
def _no_sleeping(sleeps: list[float]) -> list[float]:
    return sleeps


def organization(api: FakeContactship) -> FakeContactship:
    """The demo's organization, answering only to `SECRET`."""
    api.api_key = SECRET
    api.seed_phone_numbers(250)
    api.seed(calls=400, agents=3, contacts=120)
    return api


def diagnose(api: FakeContactship, *args: str, **settings: t.Any) -> Run:
    return sync(
        {"api_key": SECRET, "api_url": api.url, **settings}, "--diagnose", *args
    )


def report(api: FakeContactship, **settings: t.Any) -> dict[str, t.Any]:
    """The JSON report, after checking budget and privacy on both outputs."""
    run = diagnose(api, "--format=json", **settings)
    assert run.exit_code == 0, run.stderr
    assert_private(api, run.stdout + run.stderr)
    document = json.loads(run.stdout)
    assert_within_budget(api, document)
    assert "| list | check | seen | what the tap does |" in run.stderr
    return t.cast("dict[str, t.Any]", document)


def assert_within_budget(api: FakeContactship, document: dict[str, t.Any]) -> None:
    assert document["requests"] == len(api.requests) <= BUDGET
    for path in PATHS.values():
        asked = api.data_requests(path)
        assert len(asked) <= 6, path
        # Never more than a page: the largest `limit` is the tap's own largest.
        assert all(int(r.params.get("limit", 0)) <= 1001 for r in asked), path


def personal_values(api: FakeContactship) -> set[str]:
    """Every value of the organization a bug report must not show."""
    fields = (
        *("id", "phone_number", "email", "full_name", "from", "person_name"),
        *("call_record", "prompt", "agent_id", "organization_id"),
    )
    values = set()
    for rows in (api.phone_numbers, api.calls, api.agents, api.contacts):
        for row in rows:
            nested = row.get("contact") or {}
            for value in [row.get(f) for f in fields] + list(nested.values()):
                if isinstance(value, str) and len(value) >= 6:
                    values.add(value.strip().splitlines()[0])
    for call in api.calls[:3]:
        history = api.with_transcript(call)["chat_history"]
        turns = history if isinstance(history, list) else [{"content": history}]
        values.update(turn["content"].splitlines()[0] for turn in turns)
    return values


def assert_private(api: FakeContactship, output: str) -> None:
    assert SECRET not in output
    leaked = sorted(v for v in personal_values(api) if v in output)
    assert not leaked, leaked[:5]


def finding(document: dict[str, t.Any], stream: str, check: str) -> dict[str, str]:
    (found,) = [
        f for f in document["streams"][stream]["findings"] if f["check"] == check
    ]
    return t.cast("dict[str, str]", found)


def test_the_documented_api_is_named_as_the_docs_describe_it(api):
    document = report(organization(api))

    streams = document["streams"]
    assert streams["phone_numbers"]["envelope"] == "{data, count}"
    assert streams["calls"]["envelope"] == "{data, count}"
    assert streams["agents"]["envelope"] == "{statusCode, data}"
    assert streams["contacts"]["envelope"] == "bare array"
    assert streams["phone_numbers"]["default_page_size"] == 5
    assert streams["calls"]["default_page_size"] == 20
    assert streams["calls"]["default_order"] == "desc"
    for name in ("phone_numbers", "calls"):
        assert streams[name]["count"] == "consistent"
        assert streams[name]["offset_honoured"] is True
        assert streams[name]["limit_honoured"] is True
        assert streams[name]["largest_page"]["cap"] is None
        assert streams[name]["order_asc_holds"] is True
    assert streams["contacts"]["largest_page"]["whole_list"] is True
    assert streams["contacts"]["count"] == "absent"
    assert streams["agents"]["offset_honoured"] is False
    assert finding(document, "agents", "limit/offset")["tap"] == (
        "reads the one page, as documented"
    )
    assert streams["calls"]["date_from"] == "a UTC day"
    assert streams["calls"]["transcripts"] == "json, as requested"
    assert all(s["undeclared_fields"] == [] for s in streams.values())
    assert all(s["never_seen_fields"] == [] for s in streams.values())


def test_agents_in_the_new_envelope_are_paged(api):
    organization(api).agents_envelope = "count"

    agents = report(api)["streams"]["agents"]

    assert agents["envelope"] == "{data, count}"
    assert agents["offset_honoured"] is True
    assert agents["count"] == "consistent"


@pytest.mark.parametrize(
    ("contacts", "does"),
    [
        (150, "at most 100 contacts are read (WARNING); deletions are not applied"),
        (40, "takes these 40 rows as the list"),
    ],
)
def test_contacts_without_paging_say_what_the_tap_keeps(api, contacts, does):
    organization(api).seed(calls=400, agents=3, contacts=contacts)
    api.contacts_paging = False

    document = report(api)

    assert document["streams"]["contacts"]["offset_honoured"] is False
    assert finding(document, "contacts", "limit/offset")["tap"].startswith(does)


@pytest.mark.parametrize(
    ("style", "seen"),
    [
        ("Z", ["Z"]),
        (".000Z", [".fffZ"]),
        ("+02:00", ["+02:00"]),
        ("micro", [".ffffff+00:00"]),
        ("mixed", ["+02:00", ".fffZ", ".ffffff+00:00", "Z"]),
    ],
)
def test_timestamp_styles_are_named(api, style, seen):
    organization(api).seed(calls=400, agents=4, contacts=120)  # 4: every style
    for stream in PATHS:
        api.variants[stream].timestamps = style

    streams = report(api)["streams"]

    for name, facts in streams.items():
        assert facts["timestamps"]["created_at"] == seen, name
        assert facts["order_asc_holds"] is True, name


@pytest.mark.parametrize(
    ("cap", "count_error", "verdict"),
    [
        (37, 0, "consistent"),
        (None, 40, "too high (count 290, the list has 250 rows)"),
        (37, 40, "too high (count 290, no row at offset 289)"),
        (None, -40, "too low (count 210, one page held 250)"),
        (37, -40, "too low (count 210, rows past it)"),
    ],
)
def test_a_page_cap_and_a_lying_count_are_told_apart(api, cap, count_error, verdict):
    organization(api)
    api.variants["phone_numbers"].max_limit = cap
    api.variants["phone_numbers"].count_error = count_error

    numbers = report(api)["streams"]["phone_numbers"]

    assert numbers["count"] == verdict
    assert numbers["largest_page"]["cap"] == cap
    assert numbers["largest_page"]["served"] == (cap or 250)
    assert numbers["largest_page"]["whole_list"] is (cap is None and count_error >= 0)


def test_an_unknown_envelope_is_named_and_the_tap_says_it_would_fail(api):
    organization(api).variants["calls"].envelope = "items"

    document = report(api)

    assert document["streams"]["calls"]["envelope"] == (
        "unknown (an object with keys items, total)"
    )
    assert finding(document, "calls", "envelope")["tap"].startswith(
        "a sync fails on it"
    )


def test_a_missing_count_is_named(api):
    organization(api).omit_count = True

    numbers = report(api)["streams"]["phone_numbers"]

    assert numbers["envelope"] == "{data}"
    assert numbers["count"] == "absent"


@pytest.mark.parametrize(
    ("offset", "verdict"),
    [
        (5, "a day starting 5.0 h or more before UTC midnight (east of UTC)"),
        (-3, "a day starting 3.0 h or more after UTC midnight (west of UTC)"),
    ],
)
def test_a_date_from_day_in_another_zone_is_named(api, offset, verdict):
    organization(api).date_from_utc_offset = offset

    document = report(api)

    assert document["streams"]["calls"]["date_from"] == verdict
    assert "correct" in finding(document, "calls", "date_from")["tap"]


def test_transcripts_in_another_format_are_named(api):
    organization(api).transcripts_served_as = "toon"

    document = report(api)

    assert document["streams"]["calls"]["transcripts"].startswith("a string")
    assert (
        "leave `include_transcripts` off"
        in finding(document, "calls", "transcripts")["tap"]
    )


def test_fields_outside_the_schema_and_fields_never_sent_are_named(api):
    organization(api)
    for row in api.contacts:
        row["lead_score"] = 7
        del row["description"]

    contacts = report(api)["streams"]["contacts"]

    assert contacts["undeclared_fields"] == ["lead_score"]
    assert contacts["never_seen_fields"] == ["description"]


def test_rate_limit_headers_and_one_429_are_reported(api, sleeps):
    organization(api)
    throttled: list[t.Any] = []

    def limits(fake: FakeContactship, seen: t.Any) -> Response | None:
        if seen.path != PATHS["calls"]:
            return None
        if not throttled:
            throttled.append(seen)
            return Response(429, b"{}", {"Retry-After": "7"})
        answer = fake.serve(seen)
        answer.headers["X-RateLimit-Remaining"] = "42"
        return answer

    api.hooks.append(limits)

    calls = report(api)["streams"]["calls"]

    assert calls["rate_limit_headers"] == {"X-RateLimit-Remaining": "42"}
    assert calls["statuses"] == {"200": calls["requests"], "429": 1}
    assert calls["failures"] == []
    assert calls["envelope"] == "{data, count}"
    assert 7.0 in sleeps  # Retry-After honoured before the one retry
    assert sleeps.count(0.25) == len(api.requests) - 1  # spaced


def test_a_rejected_key_is_one_line_and_its_exit_code(api):
    organization(api)

    run = sync({"api_key": "wrong-key-1234", "api_url": api.url}, "--diagnose")

    assert run.exit_code == ExitCode.KEY_REJECTED
    assert run.stderr.strip().splitlines() == [
        "tap-contactship: error: the Contactship API rejected the API key (401 "
        "Unauthorized); check `api_key` (env TAP_CONTACTSHIP_API_KEY with "
        "--config=ENV, or Meltano's `meltano config set tap-contactship api_key`)"
    ]
    assert len(api.requests) == 1


@pytest.mark.parametrize(
    ("url", "says", "code"),
    [
        ("{api}/wrong", "failed with 404 Not Found", ExitCode.API_FAULT),
        (
            "http://127.0.0.1:{port}",
            "no response from http://127.0.0.1:",
            ExitCode.UNREACHABLE,
        ),
    ],
)
def test_no_answer_at_all_is_one_line_and_its_exit_code(api, url, says, code):
    url = url.format(api=organization(api).url, port=free_port())

    run = sync({"api_key": SECRET, "api_url": url}, "--diagnose")

    assert run.exit_code == code
    (line,) = run.stderr.strip().splitlines()
    assert line.startswith("tap-contactship: error: GET /")
    assert says in line and "check `api_url`" in line
    assert SECRET not in line
    assert len(api.requests) <= 2


def test_a_missing_key_is_one_line_before_any_request(api):
    run = sync({"api_url": organization(api).url}, "--diagnose")

    assert run.exit_code == ExitCode.CONFIG
    assert run.stderr.startswith("tap-contactship: error: invalid config: ")
    assert "api_key" in run.stderr
    assert api.requests == []


def test_a_bad_format_is_one_line(api):
    run = diagnose(organization(api), "--format=yaml")

    assert run.exit_code == ExitCode.CONFIG
    assert run.stderr.startswith("tap-contactship: error: --diagnose: argument")
    assert len(run.stderr.strip().splitlines()) == 1
    assert api.requests == []


def test_the_table_alone_goes_to_stderr_and_markdown_to_stdout(api):
    organization(api)

    text = diagnose(api)
    markdown = diagnose(api, "--format=markdown")

    assert text.exit_code == 0 and markdown.exit_code == 0
    assert text.stdout == ""
    assert "| phone_numbers | envelope | {data, count} | read as is |" in text.stderr
    assert markdown.stdout.startswith("tap-contactship --diagnose: ")
    assert_private(api, text.stderr + markdown.stdout)


def test_a_spent_budget_is_said_and_nothing_more_is_asked(api):
    organization(api).count_error = 40  # every count too high: more probes
    api.agents_envelope = "count"

    run = diagnose(api, "--format=json")

    assert run.exit_code == 0, run.stderr
    document = json.loads(run.stdout)
    assert document["requests"] == len(api.requests) == BUDGET
    assert document["note"] == "the request budget was spent; later checks skipped"
    assert "Note: the request budget was spent" in run.stderr


def test_an_api_ignoring_offset_and_order_is_named_with_what_a_sync_does(api):
    organization(api).ignore_offset = True
    api.ignore_order = True

    document = report(api)

    assert document["streams"]["phone_numbers"]["offset_honoured"] is False
    assert finding(document, "phone_numbers", "limit/offset")["tap"] == (
        "a sync fails with one line (offset ignored)"
    )
    assert document["streams"]["calls"]["order_asc_holds"] is False
    assert finding(document, "calls", "order")["tap"].startswith("a sync stops")


@pytest.mark.parametrize(
    ("dropped", "stream_fact", "verdict"),
    [
        (
            "date_from",
            "date_from",
            "ignored (calls from long before that day came back)",
        ),
        (
            "include_transcript",
            "transcripts",
            "absent: include_transcript was not honoured",
        ),
    ],
)
def test_a_parameter_the_api_ignores_is_named(api, dropped, stream_fact, verdict):
    def ignore(fake: FakeContactship, seen: t.Any) -> None:
        seen.params.pop(dropped, None)

    organization(api).hooks.append(ignore)

    document = report(api)

    assert document["streams"]["calls"][stream_fact] == verdict


def test_help_lists_the_report(tmp_path):
    run = run_cli(None, "--help", tmp_path=tmp_path)

    assert run.exit_code == 0
    assert "--diagnose" in run.stdout
    assert "without keys or personal data" in " ".join(run.stdout.split())


def test_headers_that_never_end_are_cut_at_request_timeout(api, tmp_path):
    organization(api).hooks.append(
        trickling(0.2, path=PATHS["phone_numbers"], headers=True, endless=True)
    )
    config = {"api_key": SECRET, "api_url": api.url, "request_timeout": 1}

    started = time.monotonic()
    # The command in its own process: without a deadline it would never end.
    run = run_cli(config, "--diagnose", tmp_path=tmp_path, timeout=90)

    assert run.exit_code == 0, run.stderr
    assert "| phone_numbers | failure: default page: no response |" in run.stderr
    assert "| calls | transcripts | json, as requested |" in run.stderr
    # Six requests cut at a second each, the rest answered and paced: ~30 s
    # on a busy machine, a generous bound.
    assert time.monotonic() - started < 90
