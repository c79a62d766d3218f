"""The paginator's states and its transitions, one pure function per observation.

A `State` is an immutable value: where the next page is read and what the pages
so far taught about the server. Each transition takes a state and what one
response showed and returns the next state; none touches memory of ids (that is
the paginator's `RecentIds`), so each can be read, and tested, on its own.

The phases:

* `Phase.READING`: the next page overlaps the last one by one row, its anchor.
* `Phase.PROBING`: the last page held one row; the next is read right after it,
  without overlap, to tell "no more rows" from "one row per request".
* `Phase.CHECKING_SHORT`: the last page was short while `count` said more remain:
  the server's cap, or the end of a list whose `count` is too high. The next
  page tells which.
* `Phase.STEPPING_BACK`: rows shifted; the next page re-reads an earlier offset.
* `Phase.AT_END`: the list has been read.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import typing as t


class Phase(enum.Enum):
    """What the next page is for (see the module's docstring)."""

    READING = "reading"
    PROBING = "probing after a page of one row"
    CHECKING_SHORT = "probing a short page"
    STEPPING_BACK = "stepping back"
    AT_END = "at end"


@dataclasses.dataclass(frozen=True)
class State:
    """Where the next page is read, and what the pages so far showed."""

    phase: Phase = Phase.READING
    offset: int = 0
    requests: int = 0
    #: Distinct rows handed out so far.
    emitted: int = 0
    #: The API's latest `count`; `count_low` once a page went past it.
    count: int | None = None
    count_low: bool = False
    #: False when the API's `count` promised rows it never returned.
    complete: bool = True
    #: The most rows the server returns per request, once it showed one.
    server_cap: int | None = None
    #: The short page's length while `CHECKING_SHORT` (kept by a step back).
    suspected_cap: int | None = None
    #: The longest page served: once 2 or more, a page holding only its anchor
    #: is the end of the list, not a server serving one row.
    longest_page: int = 0
    #: The most new rows an overlapping page brought (the budget's stride).
    most_new_rows: int = 1


class Seen(t.NamedTuple):
    """What one used page showed: where it was read, its rows, the total."""

    offset: int
    limit: int
    rows: int
    new: int
    total: int | None
    overlapped: bool


def counted(state: State, total: int | None) -> State:
    """A response arrived.

    Invariant: `requests` counts every response; `count` is the latest the API
    reported (a page without one keeps the last).
    """
    count = state.count if total is None else total
    return dataclasses.replace(state, requests=state.requests + 1, count=count)


def over_budget(state: State) -> bool:
    """Whether paging has not converged: more than twice the pages it needs.

    Re-reads after shifts cost a few requests each; twice the page count at the
    page size the server actually serves, plus slack, is far beyond any real
    sync, and still bounded, so no sequence of answers loops forever.
    """
    total = max(state.count or 0, state.emitted)
    expected = math.ceil(total / state.most_new_rows) + 1
    return state.requests > 2 * expected + 20


def stepped_back(state: State, page_size: int) -> State:
    """A page showed that rows before its offset moved: re-read from earlier.

    Invariant: the offset only decreases, by one page, never below 0; nothing
    is emitted from the page that showed the shift (the proof's "a page is only
    used if it starts at offset 0 or with a row already emitted").
    """
    back_to = max(0, state.offset - page_size)
    return dataclasses.replace(state, phase=Phase.STEPPING_BACK, offset=back_to)


def learned(state: State, page: Seen) -> State:
    """What a used page teaches about the server: its cap, its longest page.

    Fewer rows than asked while the total says more remain is the server's own
    maximum if the next page is short too, the end of the list if it holds
    nothing new. One row proves nothing (it may be an anchor).
    Invariant: `server_cap` only shrinks, and only after two short pages in a
    row; `emitted` grows by exactly the page's new rows.
    """
    new_rows = state.most_new_rows
    if page.overlapped:  # the first page brings one row more than any other
        new_rows = max(new_rows, page.new)
    state = dataclasses.replace(
        state,
        emitted=state.emitted + page.new,
        longest_page=max(state.longest_page, page.rows),
        most_new_rows=new_rows,
    )
    short = 2 <= page.rows < page.limit
    if not (short and page.total is not None and page.offset + page.rows < page.total):
        return dataclasses.replace(state, suspected_cap=None)
    if state.suspected_cap is None:
        return dataclasses.replace(state, suspected_cap=page.rows)
    cap = min(state.suspected_cap, page.rows)
    server_cap = min(state.server_cap or cap, cap)
    return dataclasses.replace(state, suspected_cap=None, server_cap=server_cap)


def moved_on(
    state: State, page: Seen, *, longest_before: int, follow_without_count: bool
) -> tuple[State, list[str]]:
    """Where the page after a used one is read, or that the list has ended.

    With a trustworthy total, the end is where it says; without one (or once it
    proved too low), only a page with nothing after its anchor ends the list: a
    short page may just be the server's own cap.
    Invariant: the next offset is at most the last row received (its anchor), or
    right after it when probing, so no long-lived row is passed over.
    """
    warnings = []
    reached = page.offset + page.rows
    if state.count is not None and reached > state.count and not state.count_low:
        state = dataclasses.replace(state, count_low=True)
        warnings.append(
            f"the API reported count={state.count} but returned rows up to "
            f"position {reached}; reading on until a page brings nothing new"
        )
    total = None if state.count_low else state.count
    anchor_only = page.new == 0 and page.rows == 1
    if page.rows == 0 or (anchor_only and state.longest_page > 1):
        if total is not None and total > state.emitted:
            state = dataclasses.replace(state, complete=False)
            warnings.append(
                f"the API reported count={total} but returned no more "
                f"rows; finished with {state.emitted} rows"
            )
        return at(state, Phase.AT_END), warnings
    if total is None:
        return _without_total(state, page, follow_without_count), warnings
    # A page shorter than one the server already served is short because the
    # list ends there; otherwise it may be the server's cap.
    ends_here = page.rows < min(page.limit, longest_before)
    if reached >= total and ends_here:
        return at(state, Phase.AT_END), warnings
    if page.rows == 1:
        # Overlapping a page of one row re-reads only that row: read on right
        # after it instead.
        return at(state, Phase.PROBING, reached), warnings
    # Reaching the total with a page no shorter than the server's longest
    # proves nothing (`count` may be too low, or simply the page's own length):
    # the next page, its anchor alone, tells.
    return at(state, Phase.READING, reached - 1), warnings


def _without_total(state: State, page: Seen, follow_without_count: bool) -> State:
    """The next read when no `count` can be trusted.

    Invariant: the list ends only when following is off, or a page of one row
    brought nothing new.
    """
    reached = page.offset + page.rows
    if not (follow_without_count or state.count_low):
        return at(state, Phase.AT_END)
    if page.rows > 1:
        return at(state, Phase.READING, reached - 1)
    if page.new:  # one new row: the server may serve one per request
        return at(state, Phase.PROBING, reached)
    return at(state, Phase.AT_END)


def at(state: State, phase: Phase, offset: int | None = None) -> State:
    """`state` in `phase` at `offset`; reading with a short page pending checks it."""
    if phase is Phase.READING and state.suspected_cap is not None:
        phase = Phase.CHECKING_SHORT
    where = state.offset if offset is None else offset
    return dataclasses.replace(state, phase=phase, offset=where)
