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

This class is not a ``singer_sdk.pagination.BaseAPIPaginator``: those decide the
next token from the raw response, while the decision here needs the parsed rows
(which would mean parsing every page twice), may go back to an earlier offset,
and must hand out the pages after the next one for fetching ahead.
"""

from __future__ import annotations

import math
import typing as t
from collections import deque

from tap_contactship.errors import OffsetIgnoredError, PagingError
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
        self.offset = 0
        self.finished = False
        self.count: int | None = None
        self.requests = 0
        #: Distinct rows handed out so far.
        self.emitted = 0
        #: False when the API's `count` promised rows it never returned.
        self.complete = True
        #: The most rows the server returns per request, once it showed one.
        self.server_cap: int | None = None
        # A short page while `count` says more remain: the server's cap, or the
        # end of a list whose `count` is too high. The next page tells which;
        # until then nothing is planned ahead at the short page's stride.
        self._suspected_cap: int | None = None
        # The longest page served: once it is 2 or more, a page holding only
        # its anchor is the end of the list, not a server serving one row.
        self._longest_page = 0
        # A page went past `count`: the total is too low, read on to the end.
        self._count_low = False
        self.warnings: list[str] = []
        #: The ids emitted most recently, which a re-read may meet again.
        self.seen = RecentIds(window or max(self.MIN_WINDOW, 50 * page_size))
        #: (offset, rows emitted before it) of pages used, while a step back to
        #: that offset would stay inside the window of remembered ids.
        self.reads: deque[tuple[int, int]] = deque()
        self._first_id: t.Any = None
        # After a page that held nothing but its anchor, the next read starts
        # right after it, without overlap, to tell "no more rows" from "the
        # server returns one row per page".
        self._probing = False
        self._most_new_rows = 1

    @property
    def token(self) -> PageToken:
        """The page to read next.

        Every page asks for one row more than ``page_size``: after the first, that
        row is the anchor it shares with the page before, so each request still
        brings ``page_size`` new rows; on the first, it shows at once whether the
        server caps pages at ``page_size`` or below. Once a cap is known, pages
        ask for no more than it.
        """
        limit = self._capped(self.page_size) if self._probing else self._full_limit
        return PageToken(self.offset, limit)

    @property
    def _full_limit(self) -> int:
        """What an overlapping page asks for: page_size + 1, within the cap."""
        return self._capped(self.page_size + 1)

    def _capped(self, limit: int) -> int:
        return min(limit, self.server_cap or limit)

    def planned(self, how_many: int) -> list[PageToken]:
        """The next pages, assuming full pages and nothing shifting meanwhile.

        Full means what the server really returns: after a short page while
        `count` said more remained, pages are planned at the server's cap, so
        pages fetched ahead are not thrown away.
        """
        if self.finished:
            return []
        first = self.token
        if self._probing or self._suspected_cap is not None:
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
            ValueError: ``token`` is not the one the paginator expects.
        """
        if token != self.token or self.finished:
            msg = f"page {token} is not the one expected ({self.token})"
            raise ValueError(msg)
        first_request = self.requests == 0
        self.requests += 1
        count_before = self.count
        if page.total is not None:
            self.count = page.total
        self._check_budget()

        offset, rows = token.offset, page
        probe, self._probing = self._probing, False
        overlapped = not first_request and not probe
        if offset > 0 and rows and self._id(rows[0]) == self._first_id:
            # The first row can only be at offset 0: new rows sort after it,
            # and once released it is gone.
            msg = (
                f"the API answered offset={offset} with the same first row as "
                "offset=0; it appears to ignore the `offset` parameter, so the "
                "list cannot be read completely"
            )
            raise OffsetIgnoredError(msg)
        shifted = overlapped and (not rows or self._id(rows[0]) not in self.seen)
        # A probe has no anchor to show a shift; a `count` that dropped does.
        released = probe and (page.total or 0) < (count_before or 0)
        if offset > 0 and (shifted or released):
            # Rows before `offset` moved forward (one was released) or the list
            # got shorter than `offset`: some may have slid past us.
            self._step_back(offset)
            return []
        if first_request and rows:
            self._first_id = self._id(rows[0])
        longest_before = self._longest_page
        self._learn_cap(token, rows, page.total)
        self.reads.append((offset, self.emitted))

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
        self.emitted += len(new_rows)
        while self.reads and self.reads[0][1] < self.emitted - seen.capacity:
            self.reads.popleft()
        if overlapped:  # the first page brings one row more than any other
            self._most_new_rows = max(self._most_new_rows, len(new_rows))
        self._plan_next(token, rows, new_rows, longest_before)
        return new_rows

    def _learn_cap(
        self, token: PageToken, rows: list[dict[str, t.Any]], total: int | None
    ) -> None:
        # Fewer rows than asked while the total says more remain: the server's
        # own maximum, if the next page is short too; the end of the list, if
        # it holds nothing new. (One row proves nothing: it may be an anchor.)
        self._longest_page = max(self._longest_page, len(rows))
        short = 2 <= len(rows) < token.limit
        if short and total is not None and token.offset + len(rows) < total:
            if self._suspected_cap is None:
                self._suspected_cap = len(rows)
                return
            cap = min(self._suspected_cap, len(rows))
            self.server_cap = min(self.server_cap or cap, cap)
        self._suspected_cap = None

    def _step_back(self, offset: int) -> None:
        back_to = max(0, offset - self.page_size)
        if self.seen.forgotten and not any(o <= back_to for o, _ in self.reads):
            msg = (
                f"rows moved by more than {self.seen.capacity:,} places while the "
                "list was read (many released during the sync?); run the sync again"
            )
            raise PagingError(msg)
        self.offset = back_to

    def _plan_next(
        self,
        token: PageToken,
        rows: list[dict[str, t.Any]],
        new_rows: list[dict[str, t.Any]],
        longest_before: int,
    ) -> None:
        reached = token.offset + len(rows)
        if self.count is not None and reached > self.count and not self._count_low:
            self._count_low = True
            self.warnings.append(
                f"the API reported count={self.count} but returned rows up to "
                f"position {reached}; reading on until a page brings nothing new"
            )
        # With a trustworthy total, the end is where it says; without one (or
        # once it proved too low), only a page with nothing after its anchor
        # ends the list: a short page may just be the server's own cap.
        total = None if self._count_low else self.count
        anchor_only = not new_rows and len(rows) == 1
        # A page shorter than one the server already served is short because
        # the list ends there; otherwise it may be the server's cap.
        ends_here = len(rows) < min(token.limit, longest_before)
        if not rows or (anchor_only and self._longest_page > 1):
            if total is not None and total > self.emitted:
                self.complete = False
                self.warnings.append(
                    f"the API reported count={total} but returned no more "
                    f"rows; finished with {self.emitted} rows"
                )
            self.finished = True
        elif total is None:
            if not (self.follow_without_count or self._count_low):
                self.finished = True
            elif len(rows) > 1:
                self.offset = reached - 1
            elif new_rows:  # one new row: the server may serve one per request
                self._probing = True
                self.offset = reached
            else:
                self.finished = True
        elif reached >= total and ends_here:
            self.finished = True
        elif len(rows) == 1:
            # Overlapping a page of one row re-reads only that row: read on
            # right after it instead.
            self._probing = True
            self.offset = reached
        else:
            # Reaching the total with a page no shorter than the server's
            # longest proves nothing (`count` may be too low, or simply the
            # page's own length): the next page, its anchor alone, tells.
            self.offset = reached - 1

    def _id(self, row: dict[str, t.Any]) -> t.Any:
        try:
            return row[self.key]
        except (KeyError, TypeError):
            raise self._keyless() from None

    def _keyless(self) -> PagingError:
        msg = f"the API returned a row without `{self.key}`; cannot de-duplicate"
        return PagingError(msg)

    def _check_budget(self) -> None:
        # Re-reads after shifts cost a few requests each; twice the page count at
        # the page size the server actually serves, plus slack, is far beyond any
        # real sync, and still bounded.
        total = max(self.count or 0, self.emitted)
        expected = math.ceil(total / self._most_new_rows) + 1
        if self.requests > 2 * expected + 20:
            msg = (
                f"paging did not converge after {self.requests} requests "
                f"(count={self.count}, page_size={self.page_size}); the API's "
                "offsets appear unstable"
            )
            raise PagingError(msg)
