"""How many pages a stream keeps in flight, and the pause all share after a 429."""

from __future__ import annotations

import threading

from tap_contactship.retry import SYSTEM_CLOCK, Clock


class Throttle:
    """How many pages a stream keeps in flight, and when all must hold.

    A 429 means the API wants less from this client: every request waits out
    the `Retry-After` (not just the one that got it), and the number of pages
    fetched at once is halved; it grows back by one after a run of successes
    (AIMD). Shared by the worker threads of one stream.
    """

    #: Successes, per page allowed in flight, before one more is allowed.
    GROWTH_RUN = 4

    def __init__(self, max_in_flight: int, clock: Clock = SYSTEM_CLOCK) -> None:
        """Start at full concurrency, with nothing to wait for."""
        self.max_in_flight = max_in_flight
        self.limit = max_in_flight
        self.clock = clock
        self._resume_at = 0.0
        self._successes = 0
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Block until requests may be sent again."""
        with self._lock:
            target = self._resume_at
        remaining = target - self.clock.monotonic()
        if remaining > 0:
            self.clock.sleep(remaining)
        with self._lock:
            # Cleared only if nobody asked for a longer pause meanwhile.
            if self._resume_at == target:
                self._resume_at = 0.0

    def remaining(self) -> float:
        """Seconds until requests may be sent again."""
        with self._lock:
            return max(0.0, self._resume_at - self.clock.monotonic())

    def throttled(self, seconds: float) -> None:
        """The API said 429: hold every request `seconds`, halve concurrency."""
        with self._lock:
            self._resume_at = max(self._resume_at, self.clock.monotonic() + seconds)
            self.limit = max(1, self.limit // 2)
            self._successes = 0

    def succeeded(self) -> None:
        """A request went through: after a run of them, allow one more in flight."""
        with self._lock:
            if self.limit >= self.max_in_flight:
                return
            self._successes += 1
            if self._successes >= self.GROWTH_RUN * self.limit:
                self.limit += 1
                self._successes = 0
