"""Pages in flight: fetch ahead while rows are emitted, in the paginator's order.

Takes a paginator and a ``fetch(token)`` callable, so it runs the same with the
real HTTP client and with a function in a test. A page fetched ahead is only
ever used if it is still the page the paginator expects next; the output is the
same as reading one page at a time.
"""

from __future__ import annotations

import concurrent.futures
import queue
import threading
import typing as t
from concurrent.futures import Future

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from tap_contactship.pagination import OverlapOffsetPaginator, PageToken
    from tap_contactship.responses import Page


_T = t.TypeVar("_T")
_R = t.TypeVar("_R")


class Fetcher:
    """Keeps up to ``limit()`` pages in flight once the list's size is known."""

    #: Seconds between two `check` calls while a page is awaited.
    CHECK_INTERVAL = 0.2

    def __init__(
        self,
        paginator: OverlapOffsetPaginator,
        fetch: Callable[[PageToken], Page],
        *,
        max_in_flight: int,
        limit: Callable[[], int],
        name: str = "fetch",
        check: Callable[[], None] = lambda: None,
    ) -> None:
        """Read with ``fetch`` in at most ``max_in_flight`` threads.

        Args:
            paginator: Decides which page comes next and which rows are new.
            fetch: Fetches and parses one page; called from worker threads.
            max_in_flight: Worker threads.
            limit: Pages allowed in flight right now (lowered after a 429).
            name: Prefix of the worker threads' names.
            check: Called between pages and while waiting for one; raises to
                stop reading (a signal arrived).
        """
        self.paginator = paginator
        self.fetch = fetch
        self.max_in_flight = max_in_flight
        self.limit = limit
        self.name = name
        self.check = check
        #: Set when reading stops; pages still in flight are then abandoned.
        self.stopped = threading.Event()
        #: Pages requested and not yet used, by where they read.
        self.in_flight: dict[PageToken, Future[Page]] = {}

    def pages(self) -> Iterator[list[dict[str, t.Any]]]:
        """Yield, page by page, the rows the paginator accepts as new."""
        paginator = self.paginator
        pool = DaemonPool(self.max_in_flight, self.name)
        self.stopped.clear()
        try:
            while not paginator.finished:
                self._fill(pool)
                token = paginator.token
                rows = paginator.accept(token, self._wait_for(token))
                # Refill before the caller spends time on these rows.
                self._fill(pool)
                yield rows
        finally:
            # Pages still being fetched ahead are abandoned, not waited for: the
            # pool cancels those not started, `stopped` ends the others' retries.
            self.stopped.set()
            self.in_flight.clear()
            pool.shutdown()

    def _wait_for(self, token: PageToken) -> Page:
        future = self.in_flight.pop(token)
        while True:
            self.check()
            try:
                return future.result(timeout=self.CHECK_INTERVAL)
            except concurrent.futures.TimeoutError:
                continue

    def _fill(self, pool: DaemonPool) -> None:
        paginator = self.paginator
        if paginator.finished:
            return
        known = paginator.count is not None
        plan = paginator.planned(self.max_in_flight if known else 1)
        # Pages off the plan (rows shifted) are dropped; pages still on it are
        # kept even when a 429 lowered the limit: fetching them again would
        # only cost the API more requests.
        for token in set(self.in_flight) - set(plan):
            self.in_flight.pop(token).cancel()
        limit = self.limit() if known else 1
        for position, token in enumerate(plan):
            if token not in self.in_flight and (
                position == 0 or len(self.in_flight) < limit
            ):
                self.in_flight[token] = pool.submit(self.fetch, token)


class DaemonPool:
    """Worker threads that never hold up the process's exit.

    A `ThreadPoolExecutor`'s threads are joined when the interpreter exits, so
    a failed or interrupted sync would wait, after its error line, for every
    request still in flight (up to `request_timeout`). These are daemons: the
    process exits as soon as the main thread is done.
    """

    def __init__(self, workers: int, name: str) -> None:
        """Start `workers` threads named after `name`."""
        self._tasks: queue.SimpleQueue[tuple[Future[t.Any], Callable[[], t.Any]] | None]
        self._tasks = queue.SimpleQueue()
        self._workers = [
            threading.Thread(target=self._work, name=f"{name}_{n}", daemon=True)
            for n in range(workers)
        ]
        for worker in self._workers:
            worker.start()

    def submit(self, fn: Callable[[_T], _R], argument: _T) -> Future[_R]:
        """Run `fn(argument)` in a worker; its future."""
        future: Future[_R] = Future()
        self._tasks.put((future, lambda: fn(argument)))
        return future

    def shutdown(self) -> None:
        """Cancel what has not started; workers end after their current task."""
        while True:
            try:
                task = self._tasks.get_nowait()
            except queue.Empty:
                break
            if task is not None:
                task[0].cancel()
        for _ in self._workers:
            self._tasks.put(None)

    def _work(self) -> None:
        while (task := self._tasks.get()) is not None:
            future, call = task
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(call())
            except BaseException as exc:
                future.set_exception(exc)
