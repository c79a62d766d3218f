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
  page that brings nothing new is an error, not a reason to keep going.

Every emitted id is remembered, so nothing is emitted twice within a run.

This class is not a ``singer_sdk.pagination.BaseAPIPaginator``: those decide the
next token from the raw response, while the decision here needs the parsed rows
(which would mean parsing every page twice) and must be able to go back to an
earlier offset, including 0, which the SDK's ``advance`` treats as "finished".
"""

from __future__ import annotations

import math
import typing as t
from dataclasses import dataclass

from tap_contactship.errors import ContactshipError


@dataclass(frozen=True)
class Page:
    """One parsed response: its rows and the total the API reported, if any."""

    rows: list[dict[str, t.Any]]
    count: int | None


def request_limit(offset: int, page_size: int) -> int:
    """The ``limit`` to send with a request at ``offset``.

    Every page after the first asks for one extra row, the anchor it shares with
    the page before, so each request still brings ``page_size`` new rows.
    """
    return page_size if offset == 0 else page_size + 1


class PagingError(ContactshipError):
    """The API's paging is inconsistent in a way we cannot safely work around."""


class OverlapOffsetPaginator:
    """Plans offsets and filters pages so each row is emitted exactly once.

    The caller asks for ``offset``/``limit``, fetches that page, and hands it to
    :meth:`accept`, which returns the rows to emit and moves ``offset`` on (or
    back). Pages fetched ahead of time (see :meth:`planned_offsets`) are accepted
    only if they start where the paginator now expects; any other is re-read.
    """

    def __init__(self, page_size: int, *, key: str = "id") -> None:
        """Start at offset 0 with nothing seen.

        Args:
            page_size: New rows wanted per request.
            key: The field that identifies a row.
        """
        self.page_size = page_size
        self.key = key
        self.offset = 0
        self.finished = False
        self.count: int | None = None
        self.requests = 0
        self.rows_read = 0
        self.step_backs = 0
        self.warnings: list[str] = []
        self._seen: set[t.Any] = set()

    @property
    def emitted(self) -> int:
        """How many distinct rows have been handed out so far."""
        return len(self._seen)

    def planned_offsets(self, how_many: int) -> list[int]:
        """The next offsets, assuming full pages and nothing shifting meanwhile."""
        if self.finished:
            return []
        offsets = [self.offset + i * self.page_size for i in range(how_many)]
        if self.offset == 0:
            offsets = [0] + [self.page_size - 1 + i * self.page_size for i in range(how_many - 1)]
        if self.count is not None:
            offsets = [o for o in offsets if o == self.offset or o + 1 < self.count]
        return offsets

    def accept(self, offset: int, page: Page) -> list[dict[str, t.Any]]:
        """Take the page read at ``offset`` and return the rows to emit.

        Args:
            offset: The offset the page was requested at; must be ``self.offset``.
            page: The parsed response.

        Returns:
            The rows not emitted before, in the order the API returned them.

        Raises:
            PagingError: The API ignores ``offset`` or never converges.
            ValueError: ``offset`` is not the one the paginator expects.
        """
        if offset != self.offset or self.finished:
            msg = f"page at offset {offset} is not the one expected ({self.offset})"
            raise ValueError(msg)
        self.requests += 1
        self.rows_read += len(page.rows)
        if page.count is not None:
            self.count = page.count
        self._check_budget()

        rows = page.rows
        if offset > 0 and (not rows or self._id(rows[0]) not in self._seen):
            # Rows before `offset` moved forward (one was released) or the list
            # got shorter than `offset`: rows may have slid past us. Re-read.
            self.step_backs += 1
            self.offset = max(0, offset - self.page_size)
            return []

        new_rows = []
        for row in rows:
            row_id = self._id(row)
            if row_id not in self._seen:
                self._seen.add(row_id)
                new_rows.append(row)

        if offset > 0 and not new_rows and len(rows) > 1:
            msg = (
                f"the API answered offset={offset} with {len(rows)} rows that were "
                "all returned before; it appears to ignore the `offset` parameter, "
                "so the list cannot be read completely"
            )
            raise PagingError(msg)

        reached = offset + len(rows)
        if self.count is None or not rows:
            self._finish()
        elif reached >= self.count:
            if reached > self.count:
                self._warn(
                    f"the API reported count={self.count} but returned rows up to "
                    f"position {reached}; all returned rows were emitted"
                )
            self._finish()
        elif offset > 0 and len(rows) == 1:
            self._warn(
                f"the API reported count={self.count} but has no rows after "
                f"position {reached}; finished with {self.emitted} rows"
            )
            self._finish()
        else:
            self.offset = reached - 1
        return new_rows

    def _id(self, row: dict[str, t.Any]) -> t.Any:
        try:
            return row[self.key]
        except (KeyError, TypeError):
            msg = f"the API returned a row without `{self.key}`; cannot de-duplicate"
            raise PagingError(msg) from None

    def _finish(self) -> None:
        self.finished = True

    def _warn(self, message: str) -> None:
        self.warnings.append(message)

    def _check_budget(self) -> None:
        # Re-reads after shifts cost a few requests each; twice the honest page
        # count plus slack is far beyond any real sync, and still bounded.
        expected = math.ceil((self.count or 0) / self.page_size) + 1
        if self.requests > 2 * expected + 20:
            msg = (
                f"paging did not converge after {self.requests} requests "
                f"(count={self.count}, page_size={self.page_size}); the API's "
                "offsets appear unstable"
            )
            raise PagingError(msg)
