"""The paginator alone, driven by a list in memory: no server, no threads."""

from __future__ import annotations

import pytest

from tap_contactship.errors import OffsetIgnoredError, PagingError
from tap_contactship.pagination import OverlapOffsetPaginator, PageToken
from tap_contactship.responses import Page


def rows(n: int, start: int = 0) -> list[dict[str, str]]:
    return [{"id": f"r{i:05d}"} for i in range(start, start + n)]


def serve(
    data: list[dict[str, str]],
    token: PageToken,
    *,
    cap: int | None = None,
    count_error: int = 0,
    with_count: bool = True,
) -> Page:
    limit = min(token.limit, cap) if cap else token.limit
    return Page(
        data[token.offset : token.offset + limit],
        len(data) + count_error if with_count else None,
    )


def drive(paginator: OverlapOffsetPaginator, data, **options) -> list[str]:
    emitted = []
    while not paginator.finished:
        token = paginator.token
        emitted += [
            r["id"] for r in paginator.accept(token, serve(data, token, **options))
        ]
    return emitted


@pytest.mark.parametrize(
    ("n", "size"), [(0, 10), (1, 10), (10, 10), (11, 10), (95, 10)]
)
def test_every_row_once(n, size):
    data = rows(n)
    paginator = OverlapOffsetPaginator(size)

    assert drive(paginator, data) == [r["id"] for r in data]
    # The first page asks for one row more, like every other. A last page no
    # shorter than the pages before it (a list that fits in one page, or a full
    # last page) is followed by one showing nothing comes after it: `count`
    # may be too low, or a page short because of a cap the server never said.
    assert paginator.requests == (1 if n == 0 else max(2, -(-n // size)))
    assert paginator.warnings == []


def test_pages_overlap_by_one_row():
    paginator = OverlapOffsetPaginator(10)
    assert paginator.token == PageToken(0, 11)
    paginator.accept(paginator.token, serve(rows(30), paginator.token))
    assert paginator.token == PageToken(10, 11)


def test_planned_pages_follow_full_pages_until_count():
    paginator = OverlapOffsetPaginator(10)
    paginator.accept(paginator.token, serve(rows(35), paginator.token))

    assert paginator.planned(5) == [
        PageToken(10, 11),
        PageToken(20, 11),
        PageToken(30, 11),
    ]


def test_a_page_other_than_the_expected_one_is_refused():
    paginator = OverlapOffsetPaginator(10)
    with pytest.raises(ValueError, match="not the one expected"):
        paginator.accept(PageToken(10, 11), Page([], 0))


def test_nothing_is_accepted_after_the_end():
    paginator = OverlapOffsetPaginator(10)
    drive(paginator, rows(3))
    assert paginator.planned(3) == []
    with pytest.raises(ValueError, match="not the one expected"):
        paginator.accept(paginator.token, Page([], 3))


def test_a_row_without_id_cannot_be_deduplicated():
    paginator = OverlapOffsetPaginator(10)
    with pytest.raises(PagingError, match="without `id`"):
        paginator.accept(paginator.token, Page([{"name": "x"}], 1))


def test_a_released_row_makes_it_step_back_and_reread():
    data = rows(30)
    paginator = OverlapOffsetPaginator(10)
    first = paginator.accept(paginator.token, serve(data, paginator.token))
    del data[3]  # everything after slides one place forward

    token = paginator.token
    assert paginator.accept(token, serve(data, token)) == []
    assert paginator.token.offset == 0
    emitted = [r["id"] for r in first] + drive(paginator, data)

    assert len(emitted) == len(set(emitted))
    assert set(emitted) >= {r["id"] for r in data}


def test_offset_ignored_is_an_error():
    data = rows(30)
    paginator = OverlapOffsetPaginator(10)
    paginator.accept(paginator.token, serve(data, paginator.token))
    token = paginator.token

    with pytest.raises(OffsetIgnoredError, match="ignore the `offset`"):
        paginator.accept(token, Page(data[:11], 30))


@pytest.mark.parametrize("cap", [1, 3, 9])
def test_a_server_cap_below_the_page_size_loses_nothing(cap):
    data = rows(40)
    assert drive(OverlapOffsetPaginator(10), data, cap=cap) == [r["id"] for r in data]


def test_count_too_high_ends_with_a_warning_and_every_row():
    data = rows(25)
    paginator = OverlapOffsetPaginator(10)

    assert drive(paginator, data, count_error=5) == [r["id"] for r in data]
    assert paginator.warnings == [
        "the API reported count=30 but returned no more rows; finished with 25 rows"
    ]


def test_count_too_low_reads_on_to_the_end_of_the_list():
    data = rows(25)
    paginator = OverlapOffsetPaginator(10)

    assert drive(paginator, data, count_error=-7) == [r["id"] for r in data]
    assert paginator.complete
    assert paginator.warnings == [
        "the API reported count=18 but returned rows up to position 21; reading "
        "on until a page brings nothing new"
    ]


def test_a_count_too_low_at_a_page_boundary_loses_nothing():
    # 3 rows, count 2, pages of 1 (+1): the first page ends exactly at count.
    data = rows(3)
    paginator = OverlapOffsetPaginator(1)

    assert drive(paginator, data, count_error=-1) == [r["id"] for r in data]


def test_without_count_one_page_unless_told_to_follow():
    data = rows(25)

    assert len(drive(OverlapOffsetPaginator(10), data, with_count=False)) == 11
    followed = OverlapOffsetPaginator(10, follow_without_count=True)
    assert drive(followed, data, with_count=False) == [r["id"] for r in data]


def test_a_server_serving_one_row_per_request_is_read_by_probes():
    data = rows(25)
    single = OverlapOffsetPaginator(5)
    # A server that answers one row per request, the anchor, while count says more.
    single.accept(single.token, Page(data[:1], 25))
    probe = single.token
    assert probe == PageToken(1, 5)  # not an overlap of one row with itself
    assert single.accept(probe, Page(data[1:2], 25)) == [data[1]]
    assert single.token == PageToken(2, 5)


def test_a_short_page_then_only_the_anchor_is_the_end_of_a_list_whose_count_is_too_high():
    data = rows(120)
    paginator = OverlapOffsetPaginator(50)

    assert drive(paginator, data, count_error=40) == [r["id"] for r in data]
    # 0-50, 50-100, 100-119 (short: a cap or the end?), 119 alone: the end.
    assert paginator.requests == 4
    assert paginator.server_cap is None
    assert not paginator.complete
    assert paginator.warnings == [
        "the API reported count=160 but returned no more rows; finished with 120 rows"
    ]


def test_unstable_offsets_give_up_instead_of_looping():
    data = rows(50)
    paginator = OverlapOffsetPaginator(10)

    def read_shifting_pages() -> None:
        while not paginator.finished:
            token = paginator.token
            page = serve(data, token)
            if token.offset:  # every later page starts with a row never seen
                page = Page([{"id": f"new{paginator.requests}"}, *page[1:]], 50)
            paginator.accept(token, page)

    with pytest.raises(PagingError, match="did not converge"):
        read_shifting_pages()


def test_the_server_cap_is_learned_from_two_short_pages_nothing_planned_between():
    data = rows(250)
    paginator = OverlapOffsetPaginator(100)
    paginator.accept(paginator.token, serve(data, paginator.token, cap=50))

    # A cap, or the end of a list whose count is too high: one page tells.
    assert paginator.server_cap is None
    assert paginator.planned(3) == [PageToken(49, 101)]
    paginator.accept(paginator.token, serve(data, paginator.token, cap=50))

    assert paginator.server_cap == 50
    assert paginator.planned(3) == [
        PageToken(98, 50),
        PageToken(147, 50),
        PageToken(196, 50),
    ]


def test_a_short_last_page_is_not_a_cap():
    paginator = OverlapOffsetPaginator(100)
    drive(paginator, rows(150))

    assert paginator.server_cap is None


def test_memory_holds_only_a_window_of_ids():
    data = rows(5000)
    paginator = OverlapOffsetPaginator(10, window=100)

    assert drive(paginator, data) == [r["id"] for r in data]
    assert paginator.emitted == 5000
    assert len(paginator.seen) == 100
    assert len(paginator.reads) <= 12


def test_a_release_inside_the_window_is_handled_after_old_ids_are_forgotten():
    data = rows(1000)
    paginator = OverlapOffsetPaginator(10, window=100)
    emitted = []
    while not paginator.finished:
        token = paginator.token
        if paginator.requests == 60:
            del data[580]  # just behind the reader: rows slide back past it
        emitted += [r["id"] for r in paginator.accept(token, serve(data, token))]

    assert len(emitted) == len(set(emitted))
    assert set(emitted) >= {r["id"] for r in data}


def test_a_step_back_beyond_the_window_is_refused_not_duplicated():
    data = rows(1000)
    paginator = OverlapOffsetPaginator(10, window=100)

    def read_with_mass_release() -> None:
        while not paginator.finished:
            token = paginator.token
            if paginator.requests == 60:
                del data[400:560]  # more than the window behind the reader
            paginator.accept(token, serve(data, token))

    with pytest.raises(PagingError, match="rows moved by more than 100 places"):
        read_with_mass_release()


def test_a_row_without_id_inside_a_page_cannot_be_deduplicated():
    paginator = OverlapOffsetPaginator(10)
    with pytest.raises(PagingError, match="without `id`"):
        paginator.accept(paginator.token, Page([{"id": "a"}, {"name": "x"}], 2))
