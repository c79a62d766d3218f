"""SIGINT and SIGTERM during a sync: stop at the next page boundary, exit non-zero.

The SDK's own handler exits 0, so an interrupted sync would look complete to a
scheduler. Here the signal only sets a flag; the page loop raises
`SyncInterruptedError` between pages, where every record handed to the SDK has
been written whole and no STATE claims more than was written.
"""

from __future__ import annotations

import signal
import threading
import typing as t

from tap_contactship.errors import SyncInterruptedError

if t.TYPE_CHECKING:
    from types import FrameType

_received: list[int] = []


def install() -> None:
    """Handle SIGINT and SIGTERM (only the main thread may install handlers)."""
    if threading.current_thread() is threading.main_thread():
        _received.clear()
        signal.signal(signal.SIGINT, _note)
        signal.signal(signal.SIGTERM, _note)


def _note(signum: int, frame: FrameType | None) -> None:  # noqa: ARG001
    _received.append(signum)


def check() -> None:
    """Raise if a signal arrived since `install`.

    Raises:
        SyncInterruptedError: One did.
    """
    if _received:
        raise SyncInterruptedError(_received[0])
