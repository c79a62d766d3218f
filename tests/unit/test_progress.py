"""Progress lines at most every interval, with rate and ETA."""

from __future__ import annotations

import logging

from tap_contactship.progress import Progress


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_lines_at_most_every_interval_with_rate_and_eta(caplog):
    clock = Clock()
    progress = Progress(logging.getLogger("p"), "calls", 5, clock)

    with caplog.at_level(logging.INFO, logger="p"):
        clock.now = 4.9
        progress.update(4_900, 10_000)  # too soon: silent
        clock.now = 5.0
        progress.update(5_000, 10_000)
        clock.now = 6.0
        progress.update(6_000, 10_000)  # within the next interval: silent
        clock.now = 10.0
        progress.update(7_000, None)

    assert [r.getMessage() for r in caplog.records] == [
        "calls: 5,000 of 10,000 rows (50%), 1,000 rows/s, ETA 0:00:05",
        "calls: 7,000 rows, 700 rows/s",
    ]


def test_zero_interval_turns_progress_off(caplog):
    clock = Clock()
    progress = Progress(logging.getLogger("p"), "calls", 0, clock)

    with caplog.at_level(logging.INFO, logger="p"):
        clock.now = 100.0
        progress.update(10, 20)

    assert caplog.records == []
