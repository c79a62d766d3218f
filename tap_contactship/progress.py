"""Progress lines on stderr for long syncs; silent for short ones."""

from __future__ import annotations

import logging
import time
import typing as t
from datetime import timedelta

if t.TYPE_CHECKING:
    from collections.abc import Callable


class Progress:
    """Logs rows so far, percent of `count`, rate and ETA at most every `interval` s."""

    def __init__(
        self,
        logger: logging.Logger,
        stream: str,
        interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Start the clock; the first line comes after one `interval`, if ever."""
        self.logger = logger
        self.stream = stream
        self.interval = interval
        self.clock = clock
        self.started = clock()
        self.last = self.started

    def update(self, rows: int, count: int | None) -> None:
        """Report, if an interval has passed since the last report."""
        now = self.clock()
        if self.interval <= 0 or now - self.last < self.interval:
            return
        self.last = now
        rate = rows / max(now - self.started, 1e-9)
        if count:
            left = max(count - rows, 0)
            eta = timedelta(seconds=round(left / rate)) if rate else "?"
            self.logger.info(
                "%s: %s of %s rows (%d%%), %s rows/s, ETA %s",
                self.stream,
                f"{rows:,}",
                f"{count:,}",
                100 * rows // count,
                f"{rate:,.0f}",
                eta,
            )
        else:
            self.logger.info(
                "%s: %s rows, %s rows/s", self.stream, f"{rows:,}", f"{rate:,.0f}"
            )
