"""SIGINT and SIGTERM during a sync: stop at the next page boundary, exit non-zero.

The SDK installs handlers of its own when a tap is built, which exit 0, so an
interrupted sync would look complete to a scheduler. For the duration of a
sync (`held`), the command blocks both signals instead: neither handler runs,
and `check` raises `SyncInterruptedError` between pages, where every record
handed to the SDK has been written whole and no STATE claims more than was
written. Afterwards the handlers and the signal mask are restored, so a process
that runs the tap in-process (a test suite) keeps its own Ctrl-C.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import typing as t

from tap_contactship.errors import SyncInterruptedError

if t.TYPE_CHECKING:
    from collections.abc import Iterator

SIGNALS = {signal.SIGINT, signal.SIGTERM}
#: Blocking signals needs POSIX threads' signal masks (not on Windows).
CAN_HOLD = hasattr(signal, "pthread_sigmask")

_holding = threading.Event()


@contextlib.contextmanager
def held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back for `check`, from the main thread.

    Raises:
        SyncInterruptedError: One arrived after the last `check`.
    """
    if not CAN_HOLD or threading.current_thread() is not threading.main_thread():
        yield
        return
    handlers = {signum: signal.getsignal(signum) for signum in SIGNALS}
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    _holding.set()
    try:
        yield
    finally:
        _holding.clear()
        late = _take_pending()
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    if late is not None:
        raise SyncInterruptedError(late)


def check() -> None:
    """Raise if a signal arrived while held.

    Raises:
        SyncInterruptedError: One did.
    """
    if _holding.is_set():
        signum = _take_pending()
        if signum is not None:
            raise SyncInterruptedError(signum)


def _take_pending() -> int | None:
    pending = signal.sigpending() & SIGNALS
    for signum in pending:
        signal.sigtimedwait([signum], 0)  # consumed: nobody else acts on it
    return min(pending) if pending else None
