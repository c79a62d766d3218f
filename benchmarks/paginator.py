"""The paginator's own CPU cost, without HTTP: a 200,000-row list at page_size 100.

    .venv/bin/python benchmarks/paginator.py

Prints the best of seven reads in CPU time (process time, so a busy machine
skews it less than wall time), per read and per page.
"""

from __future__ import annotations

import time

from tap_contactship.pagination import OverlapOffsetPaginator
from tap_contactship.responses import Page

ROWS = [{"id": i} for i in range(200_000)]


def read_once() -> None:
    """Read the whole list, planning four pages ahead as the fetcher does."""
    paginator = OverlapOffsetPaginator(100)
    emitted = 0
    while not paginator.finished:
        token = paginator.token
        page = Page(ROWS[token.offset : token.offset + token.limit], len(ROWS))
        emitted += len(paginator.accept(token, page))
        paginator.planned(4)
    assert emitted == len(ROWS)


def main() -> None:
    """Print the best of seven reads."""
    times = []
    for _ in range(7):
        started = time.process_time()
        read_once()
        times.append(time.process_time() - started)
    best = min(times)
    pages = len(ROWS) // 100
    print(f"{best * 1000:.0f} ms CPU per read, {best / pages * 1e6:.0f} µs per page")


if __name__ == "__main__":
    main()
