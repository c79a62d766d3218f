"""`request_timeout` as a deadline for a whole response: connect, headers, body.

requests' `timeout` bounds each socket operation, not the response: a server
that sends a few bytes every half second, in its status line, its headers or
its body, never trips it. `send` watches every socket a request opens or
reuses until its body is read; when the deadline passes, a timer shuts them
down, which ends the read in progress at once (in whichever thread it is), and
the failure becomes a `ResponseDeadlineError`, retried like a timeout.

Sockets are reached through public hooks only: the session's adapter builds
its pool managers (`init_poolmanager`, `proxy_manager_for`), a pool makes its
connections with its `ConnectionCls`, and a connection's `connect` and
`request` hold its `sock`. A SOCKS proxy keeps urllib3's own connections: its
responses are bounded per read only.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import typing as t

import requests
import requests.adapters
import urllib3.connection
import urllib3.connectionpool
import urllib3.poolmanager

from tap_contactship.errors import ResponseDeadlineError

#: requests' per-read timeout, in deadlines: for sockets no watch can reach.
BACKSTOP = 2

#: The watch of the response this thread is waiting for, if any.
_current = threading.local()
_mounting = threading.Lock()


class Watch:
    """The sockets of one response, shut down once its deadline has passed."""

    def __init__(self) -> None:
        """Nothing watched, nothing expired yet."""
        self.expired = False
        self.lock = threading.Lock()
        self.sockets: list[socket.socket] = []

    def add(self, sock: socket.socket | None) -> None:
        """Watch `sock`; already expired, shut it down now (a slow connect)."""
        if sock is None:
            return
        with self.lock:
            self.sockets.append(sock)
            expired = self.expired
        if expired:
            shut(sock)

    def expire(self) -> None:
        """The deadline passed: end every read on a watched socket."""
        with self.lock:
            self.expired = True
            sockets = list(self.sockets)
        for sock in sockets:
            shut(sock)


def shut(sock: socket.socket) -> None:
    """Shut `sock` down for both directions, however it is already."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def watched(sock: socket.socket | None) -> None:
    """Hand `sock` to the watch of this thread's response, if one is running."""
    watch: Watch | None = getattr(_current, "watch", None)
    if watch is not None:
        watch.add(sock)


class WatchedHTTPConnection(urllib3.connection.HTTPConnection):
    """A connection whose socket the running response's deadline can shut."""

    def connect(self) -> None:
        """Connect (and shake hands, over TLS), then be watched."""
        super().connect()
        watched(self.sock)

    def request(self, *args: t.Any, **kwargs: t.Any) -> None:
        """Send on a kept-alive socket, watched from now on."""
        watched(self.sock)
        super().request(*args, **kwargs)


class WatchedHTTPSConnection(WatchedHTTPConnection, urllib3.connection.HTTPSConnection):
    """`WatchedHTTPConnection` over TLS: its `super().connect()` is the TLS one."""


class WatchedHTTPPool(urllib3.connectionpool.HTTPConnectionPool):
    """Plain HTTP connections that a deadline can shut."""

    ConnectionCls = WatchedHTTPConnection


class WatchedHTTPSPool(urllib3.connectionpool.HTTPSConnectionPool):
    """TLS connections that a deadline can shut."""

    ConnectionCls = WatchedHTTPSConnection


WATCHED_POOLS = {"http": WatchedHTTPPool, "https": WatchedHTTPSPool}


class DeadlineAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter, its connections watched (direct or through a proxy)."""

    def init_poolmanager(self, *args: t.Any, **kwargs: t.Any) -> None:
        """The pool manager, making watched pools."""
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = WATCHED_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: t.Any) -> t.Any:
        """The manager for `proxy`, making watched pools unless SOCKS."""
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if manager.pool_classes_by_scheme == urllib3.poolmanager.pool_classes_by_scheme:
            manager.pool_classes_by_scheme = WATCHED_POOLS
        return manager


def send(
    session: requests.Session,
    request: requests.PreparedRequest,
    *,
    timeout: float,
    allow_redirects: bool,
) -> requests.Response:
    """`request` sent on `session`, its body read whole, all within `timeout` s.

    Raises:
        ResponseDeadlineError: The response (connect, headers or body) was
            still arriving at the deadline.
    """
    mount(session)
    watch = Watch()
    timer = threading.Timer(timeout, watch.expire)
    timer.daemon = True
    _current.watch = watch
    timer.start()
    try:
        response = session.send(
            request,
            # The deadline decides, silent server or slow; requests' own limit
            # per read only backs it up, later, so the two never race.
            timeout=(timeout, BACKSTOP * timeout),
            allow_redirects=allow_redirects,
            stream=True,
        )
        response.content  # noqa: B018 (reads the body)
    except (requests.exceptions.RequestException, OSError) as exc:
        # Without a socket to cut, the failure is the connect's own (a refusal,
        # requests' connect timeout), whenever it came.
        if not (watch.expired and watch.sockets):
            raise
        raise ResponseDeadlineError(late(timeout)) from exc
    finally:
        _current.watch = None
        timer.cancel()
        timer.join()
    if watch.expired:
        # A cut can look like an ending: headers cut short end at the EOF, and a
        # body without a length ends there too. Nothing read is trusted.
        response.close()
        raise ResponseDeadlineError(late(timeout))
    return response


def late(timeout: float) -> str:
    """What a `ResponseDeadlineError` says."""
    return f"the response took longer than request_timeout ({timeout:g} s)"


def mount(session: requests.Session) -> None:
    """Make `session` send through a `DeadlineAdapter` (once per session)."""
    with _mounting:
        for prefix in ("https://", "http://"):
            if not isinstance(session.adapters.get(prefix), DeadlineAdapter):
                session.mount(prefix, DeadlineAdapter())
