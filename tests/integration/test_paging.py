"""Exactly-once paging: short pages, count stops, and data that moves under us."""

from __future__ import annotations

import math
import random

import pytest

from tap_contactship.errors import ExitCode
from tests.conftest import sync_numbers, tap_config
from tests.fake_contactship import FakeContactship, Seen

PATH = "/v1/phone-numbers"


def all_ids(api: FakeContactship) -> list[str]:
    return [
        row["id"] for row in sorted(api.phone_numbers, key=lambda r: r["created_at"])
    ]


@pytest.mark.parametrize(
    ("rows", "page_size"),
    [(250, 100), (100, 100), (101, 100), (1, 1), (7, 1), (999, 1000), (1000, 1000)],
)
def test_every_row_once_in_ceil_n_over_p_requests(api, rows, page_size):
    api.seed_phone_numbers(rows)
    run = sync_numbers(tap_config(api, page_size=page_size))

    assert run.exit_code == 0, run.stderr
    assert run.ids("phone_numbers") == all_ids(api)
    # Every page asks for page_size + 1 rows: the first brings them all, the
    # others page_size new ones after the row they share with the page before.
    # A last page no shorter than the pages before it (a list that fits in one
    # page, or a full last page) is followed by one holding only its anchor:
    # `count` may be too low, and the rows after it must not be lost.
    expected = 1 if rows == 0 else max(2, math.ceil(rows / page_size))
    assert len(api.data_requests(PATH)) == expected


def test_requests_ask_ascending_order_with_overlapping_limits(api):
    api.seed_phone_numbers(250)
    assert sync_numbers(tap_config(api, page_size=100)).exit_code == 0

    sent = sorted(
        (int(r.params["offset"]), r.params["limit"], r.params["order"])
        for r in api.data_requests(PATH)
    )
    assert sent == [(0, "101", "asc"), (100, "101", "asc"), (200, "101", "asc")]


def test_empty_organization_costs_one_request(api):
    run = sync_numbers(tap_config(api))

    assert run.exit_code == 0
    assert run.records() == []
    assert len(api.data_requests(PATH)) == 1
    assert [m["type"] for m in run.messages] == ["SCHEMA", "STATE"]


@pytest.mark.parametrize("server_max", [1, 7, 30, 99])
def test_server_clamping_limit_loses_nothing(api, server_max):
    api.seed_phone_numbers(250)
    api.max_limit = server_max

    run = sync_numbers(tap_config(api, page_size=100))

    assert run.exit_code == 0, run.stderr
    assert run.ids() == all_ids(api)


def test_number_released_mid_sync_shifts_rows_but_none_is_skipped(api):
    api.seed_phone_numbers(250)
    before = all_ids(api)
    released: list[str] = []

    def release_after_first_page(fake: FakeContactship, seen: Seen) -> None:
        if len(fake.requests) == 2:  # between page 1 and page 2
            released.append(fake.release_phone_number(10)["id"])

    api.hooks.append(release_after_first_page)
    run = sync_numbers(tap_config(api, page_size=100))

    assert run.exit_code == 0, run.stderr
    ids = run.ids()
    assert len(ids) == len(set(ids))
    assert set(before) - set(released) <= set(ids)


def test_numbers_created_mid_sync_are_not_duplicated(api):
    api.seed_phone_numbers(250)
    before = all_ids(api)

    def create_on_each_page(fake: FakeContactship, seen: Seen) -> None:
        fake.add_phone_number()

    api.hooks.append(create_on_each_page)
    run = sync_numbers(tap_config(api, page_size=100))

    assert run.exit_code == 0, run.stderr
    ids = run.ids()
    assert len(ids) == len(set(ids))
    assert set(before) <= set(ids)


def test_mass_release_larger_than_a_page_steps_back_far_enough(api):
    api.seed_phone_numbers(400)
    before = all_ids(api)
    released: set[str] = set()

    def release_many(fake: FakeContactship, seen: Seen) -> None:
        if len(fake.requests) == 3:  # after two pages: drop 150 already-read rows
            for _ in range(150):
                released.add(fake.release_phone_number(20)["id"])

    api.hooks.append(release_many)
    run = sync_numbers(tap_config(api, page_size=100))

    assert run.exit_code == 0, run.stderr
    ids = run.ids()
    assert len(ids) == len(set(ids))
    assert set(before) - released <= set(ids)


@pytest.mark.parametrize("seed", range(25))
def test_random_creates_and_releases_between_pages(api, seed):
    rng = random.Random(seed)
    api.seed_phone_numbers(rng.randint(0, 300))
    before = set(all_ids(api))
    ever: set[str] = set(before)
    released: set[str] = set()

    def churn(fake: FakeContactship, seen: Seen) -> None:
        # Busy but plausible: a quarter of the pages see a few numbers change.
        if rng.random() > 0.25:
            return
        for _ in range(rng.randint(1, 3)):
            if fake.phone_numbers and rng.random() < 0.6:
                row = fake.release_phone_number(rng.randrange(len(fake.phone_numbers)))
                released.add(row["id"])
            else:
                ever.add(fake.add_phone_number()["id"])

    api.hooks.append(churn)
    page_size = rng.choice([1, 3, 10, 50])
    run = sync_numbers(tap_config(api, page_size=page_size))

    assert run.exit_code == 0, run.stderr
    ids = run.ids()
    assert len(ids) == len(set(ids)), "a row was emitted twice"
    assert before - released <= set(ids), "a row that existed all along was skipped"
    assert set(ids) <= ever


def test_api_ignoring_offset_fails_clearly_without_looping(api):
    api.seed_phone_numbers(250)
    api.ignore_offset = True

    run = sync_numbers(tap_config(api, page_size=100))

    assert run.exit_code == ExitCode.API_FAULT
    assert run.stderr.strip().splitlines()[-1].startswith("tap-contactship: error:")
    assert "ignore the `offset` parameter" in run.stderr
    # The first page, then at most the pages already fetched ahead of the check.
    assert len(api.data_requests(PATH)) <= 1 + 3
    assert "Traceback" not in run.stderr


def test_count_higher_than_the_data_finishes_with_a_warning(api, caplog):
    api.seed_phone_numbers(250)
    api.count_error = 50

    run = sync_numbers(tap_config(api, page_size=100))

    assert run.exit_code == 0
    assert run.ids() == all_ids(api)
    # At most one page fetched ahead past the end, on the API's word.
    assert len(api.data_requests(PATH)) <= 6
    assert "count=300" in caplog.text
    assert "finished with 250 rows" in caplog.text


def test_count_lower_than_the_data_keeps_rows_that_came_back(api, caplog):
    api.seed_phone_numbers(250)
    api.count_error = -20

    run = sync_numbers(tap_config(api, page_size=100))

    assert run.exit_code == 0
    assert run.ids() == all_ids(api)
    assert "count=230" in caplog.text


def test_type_filter_is_sent_to_the_server(api):
    api.seed_phone_numbers(30)

    run = sync_numbers(tap_config(api, phone_number_type="inbound"))
    assert run.exit_code == 0, run.stderr

    assert {r["type"] for r in run.records()} == {"inbound"}
    assert api.data_requests(PATH)[0].params["type"] == "inbound"
    assert len(run.records()) == 10


@pytest.mark.parametrize("in_flight", [1, 2, 6])
def test_a_clamping_server_costs_no_wasted_requests_at_any_concurrency(api, in_flight):
    api.seed_phone_numbers(523)
    api.max_limit = 50

    run = sync_numbers(
        tap_config(api, page_size=100, max_concurrent_requests=in_flight)
    )

    assert run.exit_code == 0, run.stderr
    assert run.ids() == all_ids(api)
    # Every page after the first brings 49 new rows (one is the overlap).
    assert len(api.data_requests(PATH)) <= math.ceil(523 / 49) + 2
