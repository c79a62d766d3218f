"""Offset paging that trusts only the rows the API actually returned.

Contactship pages lists with ``limit``/``offset`` and reports the total in
``count``. Three things make a naive ``offset += page_size`` loop lose or repeat
rows, and each has a guard here:

* a server may return fewer rows than ``limit`` while more remain, so the next
  offset is computed from the rows received, never from the page size;
* a row released while we page shifts every later row one place forward, so every
  page after the first re-reads the last row of the page before (the *anchor*).
  A page whose first row we have not emitted yet means something shifted: we step
  back and re-read rather than skip;
* a server that ignores ``offset`` answers the first page again and again, so a
  later page that starts with the very first row is an error, not a reason to go
  on (and re-reads are bounded, so nothing loops).

Ids emitted recently are remembered, so nothing is emitted twice within a run.
Only the rows a step back can reach again need remembering: a long-lived row
only ever moves towards the start (rows are released before it; new rows sort
last), so a re-read from offset o only meets rows emitted since the reader first
got to o. The window holds the last `window` ids; a step back further than the
window reaches is refused with an error rather than risking a duplicate.

Why no row that exists for the whole run is skipped: rows come in a stable order
(``order=asc`` by creation). A page is only used if it starts at offset 0 or with
a row already emitted, x. Each page is a contiguous slice of the list as it was
when served, so every long-lived row between x and the page's last row is in the
page; and every long-lived row before x was emitted before x was (by the same
argument for the page x came from). So the emitted rows always cover every
long-lived row up to the last anchor, whatever was created or released meanwhile.

The argument's steps are the transitions in `paging_states`: `stepped_back` (a
page not starting with an emitted row is not used), `moved_on` (the next offset
is the last row received, the anchor, or right after a page of one row), and
`learned` (a short page is the server's cap only once the next one agrees).

This class is not a ``singer_sdk.pagination.BaseAPIPaginator``: those decide the
next token from the raw response, while the decision here needs the parsed rows
(which would mean parsing every page twice), may go back to an earlier offset,
and must hand out the pages after the next one for fetching ahead.
"""

from __future__ import annotations

import typing as t
from collections import deque

from tap_contactship import paging_states as states
from tap_contactship.errors import OffsetIgnoredError, PagingError
from tap_contactship.paging_states import Phase
from tap_contactship.recent_ids import RecentIds

if t.TYPE_CHECKING:
    from tap_contactship.responses import Page


class PageToken(t.NamedTuple):
    """Where a request reads: ``offset`` and ``limit``."""

    offset: int
    limit: int


class OverlapOffsetPaginator:
    """Plans offsets and filters pages so each row is emitted exactly once.

    The caller reads the page at :attr:`token` and hands it to :meth:`accept`,
    which returns the rows to emit and moves the token on (or back). Pages read
    ahead of time (see :meth:`planned`) are accepted only if they are the page the
    paginator now expects; any other must be read again.

    Where it reads and what it learned is one immutable `paging_states.State`,
    replaced by a transition per page; the ids emitted recently are the only
    memory kept beside it.
    """

    #: Fewest ids remembered for de-duplication (about 10 MB of memory).
    MIN_WINDOW = 100_000

    def __init__(
        self,
        page_size: int,
        *,
        key: str = "id",
        follow_without_count: bool = False,
        window: int | None = None,
    ) -> None:
        """Start at offset 0 with nothing seen.

        Args:
            page_size: New rows wanted per request.
            key: The field that identifies a row.
            follow_without_count: When the API reports no ``count``, keep reading
                until a page brings nothing new (instead of stopping after one).
            window: How many recent ids to remember (default: the larger of
                `MIN_WINDOW` and 50 pages).
        """
        self.page_size = page_size
        self.key = key
        self.follow_without_count = follow_without_count
        self.state = states.State()
        self.warnings: list[str] = []
        #: The ids emitted most recently, which a re-read may meet again.
        self.seen = RecentIds(window or max(self.MIN_WINDOW, 50 * page_size))
        #: (offset, rows emitted before it) of pages used, while a step back to
        #: that offset would stay inside the window of remembered ids.
        self.reads: deque[tuple[int, int]] = deque()
        self._first_id: t.Any = None

    @property
    def finished(self) -> bool:
        """Whether the list has been read."""
        return self.state.phase is Phase.AT_END

    @property
    def count(self) -> int | None:
        """The total the API reported last, if any."""
        return self.state.count

    @property
    def requests(self) -> int:
        """Responses accepted so far."""
        return self.state.requests

    @property
    def emitted(self) -> int:
        """Distinct rows handed out so far."""
        return self.state.emitted

    @property
    def complete(self) -> bool:
        """False when the API's `count` promised rows it never returned."""
        return self.state.complete

    @property
    def server_cap(self) -> int | None:
        """The most rows the server returns per request, once it showed one."""
        return self.state.server_cap

    @property
    def token(self) -> PageToken:
        """The page to read next.

        Every page asks for one row more than ``page_size``: after the first, that
        row is the anchor it shares with the page before, so each request still
        brings ``page_size`` new rows; on the first, it shows at once whether the
        server caps pages at ``page_size`` or below. Once a cap is known, pages
        ask for no more than it. A probe (after a page of one row) reads right
        after that row, without an anchor.
        """
        probing = self.state.phase is Phase.PROBING
        limit = self._capped(self.page_size) if probing else self._full_limit
        return PageToken(self.state.offset, limit)

    @property
    def _full_limit(self) -> int:
        """What an overlapping page asks for: page_size + 1, within the cap."""
        return self._capped(self.page_size + 1)

    def _capped(self, limit: int) -> int:
        return min(limit, self.state.server_cap or limit)

    def planned(self, how_many: int) -> list[PageToken]:
        """The next pages, assuming full pages and nothing shifting meanwhile.

        Full means what the server really returns: after a short page while
        `count` said more remained, pages are planned at the server's cap, so
        pages fetched ahead are not thrown away.
        """
        if self.finished:
            return []
        first = self.token
        if self.state.phase is Phase.PROBING or self.state.suspected_cap is not None:
            return [first]  # what follows depends on what this page shows
        tokens = [first]
        limit = self._full_limit
        offset = first.offset + first.limit - 1
        while len(tokens) < how_many and (
            self.count is None or offset + 1 < self.count
        ):
            tokens.append(PageToken(offset, limit))
            offset += limit - 1
        return tokens

    def accept(self, token: PageToken, page: Page) -> list[dict[str, t.Any]]:
        """Take the page read at ``token`` and return the rows to emit.

        Args:
            token: Where the page was read; must be ``self.token``.
            page: The parsed response.

        Returns:
            The rows not emitted before, in the order the API returned them.

        Raises:
            OffsetIgnoredError: The API answers every offset with the first page.
            PagingError: Paging does not converge, or a row has no key.
            ValueError: ``token`` is not the one the paginator expects.
        """
        if token != self.token or self.finished:
            msg = f"page {token} is not the one expected ({self.token})"
            raise ValueError(msg)
        before = self.state
        self.state = states.counted(before, page.total)
        if states.over_budget(self.state):
            msg = (
                f"paging did not converge after {self.requests} requests "
                f"(count={self.count}, page_size={self.page_size}); the API's "
                "offsets appear unstable"
            )
            raise PagingError(msg)
        first_id = self._id(page[0]) if page else None
        if token.offset > 0 and page and first_id == self._first_id:
            # The first row can only be at offset 0: new rows sort after it,
            # and once released it is gone.
            msg = (
                f"the API answered offset={token.offset} with the same first row "
                "as offset=0; it appears to ignore the `offset` parameter, so the "
                "list cannot be read completely"
            )
            raise OffsetIgnoredError(msg)
        probe = before.phase is Phase.PROBING
        overlapped = before.requests > 0 and not probe
        shifted = overlapped and (not page or first_id not in self.seen)
        # A probe has no anchor to show a shift; a `count` that dropped does.
        released = probe and (page.total or 0) < (before.count or 0)
        if token.offset > 0 and (shifted or released):
            # Rows before `offset` moved forward (one was released) or the list
            # got shorter than `offset`: some may have slid past us.
            self._step_back()
            return []
        if before.requests == 0 and page:
            self._first_id = first_id
        self.reads.append((token.offset, self.emitted))
        new_rows = self._unseen(page)
        seen = states.Seen(
            token.offset, token.limit, len(page), len(new_rows), page.total, overlapped
        )
        self.state = states.learned(self.state, seen)
        while self.reads and self.reads[0][1] < self.emitted - self.seen.capacity:
            self.reads.popleft()
        self.state, warnings = states.moved_on(
            self.state,
            seen,
            longest_before=before.longest_page,
            follow_without_count=self.follow_without_count,
        )
        self.warnings += warnings
        return new_rows

    def _unseen(self, rows: list[dict[str, t.Any]]) -> list[dict[str, t.Any]]:
        """The rows not emitted before, now remembered as emitted."""
        new_rows = []
        seen, key = self.seen, self.key
        try:
            for row in rows:
                row_id = row[key]
                if row_id not in seen:
                    seen.add(row_id)
                    new_rows.append(row)
        except (KeyError, TypeError):
            raise self._keyless() from None
        return new_rows

    def _step_back(self) -> None:
        state = states.stepped_back(self.state, self.page_size)
        reachable = any(offset <= state.offset for offset, _ in self.reads)
        if self.seen.forgotten and not reachable:
            msg = (
                f"rows moved by more than {self.seen.capacity:,} places while the "
                "list was read (many released during the sync?); run the sync again"
            )
            raise PagingError(msg)
        self.state = state

    def _id(self, row: dict[str, t.Any]) -> t.Any:
        try:
            return row[self.key]
        except (KeyError, TypeError):
            raise self._keyless() from None

    def _keyless(self) -> PagingError:
        msg = f"the API returned a row without `{self.key}`; cannot de-duplicate"
        return PagingError(msg)
