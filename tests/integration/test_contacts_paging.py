"""How contacts paging is guessed: the list may ignore `limit` and `offset`.

Working paging reads every contact; paging that is ignored is warned about
once and the cut list is neither a whole read nor retired by the streams
around it; a short list without paging is complete and quiet.
"""

from __future__ import annotations

from tests.conftest import emitted, sync, tap_config, unversioned
from tests.fake_contactship import make_contact
from tests.integration.test_api_shapes import STREAMS, kinds_of
from tests.integration.test_whole_reads import seeded


def test_contacts_with_working_paging_are_all_read(api, caplog):
    api.seed(contacts=250)

    run = sync(tap_config(api, page_size=100), streams=["contacts"])
    assert run.exit_code == 0, run.stderr

    assert unversioned(run.records("contacts")) == emitted(api.contacts)
    assert "truncated" not in caplog.text
    # Without a count, the end is a page holding nothing after its anchor.
    assert len(api.data_requests("/v1/contacts")) == 4


def test_contacts_ignoring_paging_warn_of_truncation_once(api, caplog):
    api.seed(contacts=250)
    api.contacts_paging = False

    run = sync(tap_config(api, page_size=100), streams=["contacts"])

    assert run.exit_code == 0, run.stderr
    assert unversioned(run.records("contacts")) == emitted(api.contacts[:100])
    assert "may be truncated at 100 rows" in caplog.text
    assert len(api.data_requests("/v1/contacts")) == 2


def test_small_contact_list_without_paging_is_complete_and_quiet(api, caplog):
    api.seed(contacts=30)
    api.contacts_paging = False

    run = sync(tap_config(api, page_size=100), streams=["contacts"])
    assert run.exit_code == 0, run.stderr

    assert unversioned(run.records("contacts")) == emitted(api.contacts)
    assert "truncated" not in caplog.text


def test_a_cut_contacts_list_is_not_a_whole_read(api):
    seeded(api)
    api.contacts = [make_contact(n) for n in range(150)]
    api.contacts_paging = False  # every offset answers the first 100

    run = sync(tap_config(api))

    assert run.exit_code == 0, run.stderr
    assert "the list may be truncated" in run.stderr
    assert len(run.records("contacts")) == 100
    assert [r["stream"] for r in run.records("whole_reads")] == [
        "agents",
        "phone_numbers",
    ]


def test_a_short_contacts_list_without_paging_is_a_whole_read(api):
    seeded(api)
    api.contacts_paging = False

    run = sync(tap_config(api))

    assert run.exit_code == 0, run.stderr
    reads = {r["stream"]: r["row_count"] for r in run.records("whole_reads")}
    assert reads == {"agents": 3, "contacts": 4, "phone_numbers": 7}


def test_a_cut_contacts_list_is_never_retired_by_the_streams_around_it(api):
    api.seed_phone_numbers(30)
    api.seed(calls=40, agents=3, contacts=150)
    api.contacts_paging = False  # as documented: no paging, at most 100 rows

    run = sync(tap_config(api, emit_activate_version_messages=True), streams=STREAMS)

    assert run.exit_code == 0, run.stderr
    activated = [m["stream"] for m in run.of_type("ACTIVATE_VERSION")]
    assert sorted(activated) == ["agents", "phone_numbers"]
    assert "contacts: the list may be incomplete" in run.stderr
    for stream in activated:
        kinds = kinds_of(run, stream)
        last_record = len(kinds) - 1 - kinds[::-1].index("RECORD")
        assert kinds[last_record + 1 : last_record + 3] == [
            "ACTIVATE_VERSION",
            "STATE",
        ], stream
