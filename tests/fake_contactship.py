"""A fake Contactship API on 127.0.0.1 for the tests, the demo and the benchmarks.

It serves the read endpoints the tap uses with the documented envelopes and
paging, and can be told to misbehave the ways a real API does: clamp `limit`,
ignore `offset`, report a wrong `count`, answer 401/429/5xx/HTML/truncated JSON,
echo the key in an error, be slow, or change its data between two pages.

In tests, use it in-process (``with FakeContactship() as api: ...``); for the demo
and the benchmarks run ``python tests/fake_contactship.py --help``.
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

DEFAULT_KEY = "test-key"
EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)


def iso(moment: datetime) -> str:
    """Format like the API: `2026-01-15T10:00:00Z`."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _uuid(kind: str, n: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"contactship/{kind}/{n}"))


def make_phone_number(n: int, *, created: datetime | None = None) -> dict[str, Any]:
    """The n-th phone number of the fake organization."""
    return {
        "id": f"pn-{_uuid('pn', n)}",
        "phone_number": f"+1202555{n:04d}"[-12:],
        "type": "inbound" if n % 3 == 0 else "outbound",
        "organization_id": "org-f1e2d3c4-b5a6-7890-1234-567890abcdef",
        "created_at": iso(created or EPOCH + timedelta(minutes=n)),
    }


@dataclass
class Response:
    """A canned answer: status, headers and raw body."""

    status: int
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Seen:
    """One request as the server received it (the key is not kept)."""

    method: str
    path: str
    params: dict[str, str]
    had_valid_key: bool
    user_agent: str


Hook = Callable[["FakeContactship", Seen], "Response | None"]


class FakeContactship:
    """The fake API's data, behaviour switches and request log."""

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_KEY,
        phone_numbers: int = 0,
        latency: float = 0.0,
    ) -> None:
        self.api_key = api_key
        self.lock = threading.RLock()
        self.phone_numbers: list[dict[str, Any]] = []
        self._next_number = 0
        self.seed_phone_numbers(phone_numbers)
        self.latency = latency
        #: Largest `limit` honoured; bigger requests get this many rows.
        self.max_limit: int | None = None
        #: Answer every page as if `offset` were 0.
        self.ignore_offset = False
        #: Added to the true total in `count`.
        self.count_error = 0
        #: Put the API key into 401 bodies, as some APIs do.
        self.echo_key_in_errors = False
        #: Answers to give instead of the real one, consumed in order.
        self.script: list[Response] = []
        #: Called before every data request; may change the data or answer itself.
        self.hooks: list[Hook] = []
        self.requests: list[Seen] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # Data changes (used by tests between pages or between runs)

    def seed_phone_numbers(self, count: int) -> None:
        """Replace the numbers with `count` fresh ones, a minute apart."""
        with self.lock:
            self.phone_numbers = [make_phone_number(n) for n in range(count)]
            self._next_number = count

    def add_phone_number(self) -> dict[str, Any]:
        """Create a number now; it sorts last."""
        with self.lock:
            latest = max(
                (row["created_at"] for row in self.phone_numbers), default=iso(EPOCH)
            )
            created = datetime.strptime(latest, "%Y-%m-%dT%H:%M:%SZ").replace(
                tzinfo=timezone.utc
            ) + timedelta(seconds=1)
            row = make_phone_number(self._next_number, created=created)
            self._next_number += 1
            self.phone_numbers.append(row)
            return row

    def release_phone_number(self, index: int) -> dict[str, Any]:
        """Delete the number at `index` in ascending order; later rows shift up."""
        with self.lock:
            return self.phone_numbers.pop(index)

    # Serving

    @property
    def url(self) -> str:
        """Base URL of the running server."""
        assert self._server is not None, "server not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self, port: int = 0) -> FakeContactship:
        """Serve on 127.0.0.1 in a background thread."""
        handler = type("Handler", (_Handler,), {"api": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeContactship:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def data_requests(self, path: str | None = None) -> list[Seen]:
        """Requests received, optionally only those for one path."""
        return [r for r in self.requests if path is None or r.path == path]

    # Answers

    def answer(self, seen: Seen) -> Response:
        """Compute the response to a request."""
        if self.latency:
            time.sleep(self.latency)
        with self.lock:
            self.requests.append(seen)
            for hook in list(self.hooks):
                hooked = hook(self, seen)
                if hooked is not None:
                    return hooked
            if self.script:
                return self.script.pop(0)
            if not seen.had_valid_key:
                message = "Invalid API key"
                if self.echo_key_in_errors:
                    message += f": {seen.params.get('_key', '')}"
                return json_response(401, {"statusCode": 401, "message": message})
            route = ROUTES.get(seen.path)
            if route is None:
                return json_response(
                    404, {"statusCode": 404, "message": f"Cannot GET {seen.path}"}
                )
            return route(self, seen.params)

    def page(
        self,
        rows: list[dict[str, Any]],
        params: dict[str, str],
        *,
        default_limit: int,
        sort_key: str = "created_at",
    ) -> Response | tuple[list[dict[str, Any]], int]:
        """Apply order/limit/offset like the API; returns rows and the true total."""
        try:
            limit = int(params.get("limit", default_limit))
            offset = int(params.get("offset", 0))
        except ValueError:
            return json_response(400, {"statusCode": 400, "message": "Bad paging"})
        if limit < 0 or offset < 0:
            return json_response(400, {"statusCode": 400, "message": "Bad paging"})
        order = params.get("order", "desc")
        ordered = sorted(rows, key=lambda r: (r[sort_key], r["id"]))
        if order == "desc":
            ordered.reverse()
        if self.max_limit is not None:
            limit = min(limit, self.max_limit)
        if self.ignore_offset:
            offset = 0
        return ordered[offset : offset + limit], len(ordered)


def json_response(status: int, payload: Any) -> Response:
    """A JSON answer."""
    return Response(
        status, json.dumps(payload).encode(), {"Content-Type": "application/json"}
    )


def _phone_numbers(api: FakeContactship, params: dict[str, str]) -> Response:
    rows = api.phone_numbers
    if "type" in params:
        rows = [r for r in rows if r["type"] == params["type"]]
    paged = api.page(rows, params, default_limit=5)
    if isinstance(paged, Response):
        return paged
    data, total = paged
    return json_response(200, {"data": data, "count": total + api.count_error})


ROUTES: dict[str, Callable[[FakeContactship, dict[str, str]], Response]] = {
    "/v1/phone-numbers": _phone_numbers,
}


class _Handler(BaseHTTPRequestHandler):
    api: FakeContactship
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle's algorithm
        # and delayed ACKs add ~40 ms to every keep-alive request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        parsed = urlparse(self.path)
        params = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        key = self.headers.get("x-api-key", "")
        seen = Seen(
            method="GET",
            path=parsed.path,
            params=params,
            had_valid_key=key == self.api.api_key,
            user_agent=self.headers.get("User-Agent", ""),
        )
        if self.api.echo_key_in_errors:
            seen.params = {**params, "_key": key}
        response = self.api.answer(seen)
        body = (
            response.body.encode() if isinstance(response.body, str) else response.body
        )
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet; the request log is in `api.requests`."""


def main(argv: list[str] | None = None) -> None:
    """Serve a fake organization until interrupted (for the demo and benchmarks)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--api-key", default=DEFAULT_KEY)
    parser.add_argument("--phone-numbers", type=int, default=250)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--url-file", help="write the base URL here once listening")
    args = parser.parse_args(argv)

    api = FakeContactship(
        api_key=args.api_key,
        phone_numbers=args.phone_numbers,
        latency=args.latency_ms / 1000,
    ).start(args.port)
    if args.url_file:
        with open(args.url_file, "w", encoding="utf-8") as handle:  # noqa: PTH123
            handle.write(api.url)
    print(api.url, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    api.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
