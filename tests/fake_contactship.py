"""A fake Contactship API on 127.0.0.1 for the tests, the demo and the benchmarks.

It serves the read endpoints the tap uses with the documented envelopes and
paging, and every variant the docs show, per stream (`api.variants[stream]`):
timestamps written `Z`, `.000Z`, `+02:00` or with microseconds (or a mix in one
page), `count` honest, too high or too low, pages clamped below `limit`; agents
in the old `{statusCode, data}` or the new `{data, count}` envelope; contacts
with paging honoured or ignored. Beyond the docs (for `--diagnose`): an
unknown `{"items": [...], "total": N}` envelope (`Variant.envelope`),
transcripts served as a TOON string, a bare `date_from` day read in another
zone. It can also misbehave the ways a real API does: ignore `offset`, answer
401/429/5xx/HTML/truncated JSON, drop the connection, echo the key in an
error, be slow, or change its data between two pages (`hooks`).

In tests, use it in-process (``with FakeContactship() as api: ...``).

By hand (the demo, the benchmarks, a bug report), one command serves every stream:

    python tests/fake_contactship.py --port 8765

(`--demo`: data dated the last weeks up to now, as `scripts/demo.sh` serves),
and in another shell:

    TAP_CONTACTSHIP_API_URL=http://127.0.0.1:8765 TAP_CONTACTSHIP_API_KEY=test-key tap-contactship --config=ENV
"""

from __future__ import annotations

import argparse
import itertools
import json
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

DEFAULT_KEY = "test-key"
EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)


def iso(moment: datetime) -> str:
    """Format like the API: `2026-01-15T10:00:00Z` (milliseconds if it has some)."""
    return styled(moment, "Z")


#: How the docs write timestamps: `2026-03-15T14:30:00Z`,
#: `2024-01-15T10:30:00.000Z`, an offset, `2024-03-05T14:20:00.123456+00:00`.
TIMESTAMP_STYLES = ("Z", ".000Z", "+02:00", "micro")
#: The fields every stream types `date-time`.
DATE_TIME_FIELDS = ("created_at", "updated_at", "start_at", "finished_at")


def styled(moment: datetime, style: str) -> str:
    """The instant written in one of `TIMESTAMP_STYLES`, nothing lost."""
    if style == "+02:00":
        local = moment.astimezone(timezone(timedelta(hours=2)))
        return local.strftime("%Y-%m-%dT%H:%M:%S") + _millis(local) + "+02:00"
    utc = moment.astimezone(timezone.utc)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if style == "micro":
        return f"{text}.{utc.microsecond:06d}+00:00"
    if style == ".000Z":
        return f"{text}.{utc.microsecond // 1000:03d}Z"
    return text + _millis(utc) + "Z"


def _millis(moment: datetime) -> str:
    if not moment.microsecond:
        return ""
    if moment.microsecond % 1000:
        return f".{moment.microsecond:06d}"
    return f".{moment.microsecond // 1000:03d}"


def restyled(rows: list[dict[str, Any]], style: str) -> list[dict[str, Any]]:
    """Rows with every timestamp in `style`; `mixed` cycles the styles row by row."""
    out = []
    for index, row in enumerate(rows):
        row_style = TIMESTAMP_STYLES[index % 4] if style == "mixed" else style
        out.append(
            {
                key: styled(_instant(value), row_style)
                if key in DATE_TIME_FIELDS and isinstance(value, str)
                else value
                for key, value in row.items()
            }
        )
    return out


def _uuid(kind: str, n: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"contactship/{kind}/{n}"))


def make_phone_number(n: int, *, created: datetime | None = None) -> dict[str, Any]:
    """The n-th phone number of the fake organization."""
    return {
        "id": f"pn-{_uuid('pn', n)}",
        "phone_number": phone_number(n),
        "type": "inbound" if n % 3 == 0 else "outbound",
        "organization_id": "org-f1e2d3c4-b5a6-7890-1234-567890abcdef",
        "created_at": iso(created or EPOCH + timedelta(minutes=n)),
    }


def agent_id(n: int) -> str:
    """The n-th agent's id; calls are made by the first three agents."""
    return f"agent-{_uuid('agent', n)}"


def contact_id(n: int) -> str:
    """The n-th contact's id; UUID-like but not hex, as in the docs."""
    return f"c1a2b3c4-d5e6-f7g8-h9i0-{n:012d}"


def phone_number(n: int) -> str:
    """The n-th phone number of the organization (E.164)."""
    return f"+1202555{n:04d}"[-12:]


#: Calls are made by these agents, with the first 50 contacts; outbound calls
#: are placed from the organization's first numbers, inbound calls come from the
#: contact's own number (the API's `from` is the number that started the call).
AGENT_IDS = [agent_id(n) for n in range(3)]
CALLED_CONTACTS = 50
CALLING_NUMBERS = 4


#: Every documented `call_status`, each with the `call_result` it implies.
CALL_OUTCOMES = [
    ("completed", "answered"),
    ("no-answer", "no_answer"),
    ("busy", "busy"),
    ("voice_mail", "voicemail"),
    ("in-progress", None),
    ("failed", "failed"),
    ("answering-machine", "voicemail"),
]


def make_call(n: int, *, created: datetime | None = None) -> dict[str, Any]:
    """The n-th call; one every ten minutes from 2026-01-01, cycling outcomes.
    Most outbound calls belong to one of three campaigns."""
    created = created or EPOCH + timedelta(minutes=10 * n)
    status, result = CALL_OUTCOMES[n % len(CALL_OUTCOMES)]
    finished = status != "in-progress"
    outbound = n % 4 != 0
    caller = f"+52155{n % CALLED_CONTACTS:08d}"
    return {
        "id": _uuid("call", n),
        "direction": "outbound" if outbound else "inbound",
        "from": phone_number(n % CALLING_NUMBERS) if outbound else caller,
        "call_record": f"https://records.example/{n}.mp3" if finished else None,
        "call_status": status,
        "call_result": result,
        "disconnection_reason": ["agent_hangup", "user_hangup"][n % 2]
        if finished
        else None,
        "finished_at": iso(created + timedelta(minutes=3)) if finished else None,
        "start_at": iso(created),
        "duration": 180 + n % 60 if finished else 0,
        "call_analysis": {
            "summary": f"Call {n}",
            "sentiment": ["positive", "neutral", "negative"][n % 3],
            "score": n % 10,
        },
        "type": "ai_call",
        "created_at": iso(created),
        "agent_id": AGENT_IDS[n % len(AGENT_IDS)],
        "campaign_id": f"campaign-{n % 3}" if outbound and n % 5 else None,
        "contact": {
            "id": contact_id(n % CALLED_CONTACTS),
            "full_name": f"Persona {n % CALLED_CONTACTS}",
            "phone_number": caller,
            "email": f"p{n % CALLED_CONTACTS}@example.mx",
            "country": "México",
            "crm_owner": "extra field kept",
        },
    }


def make_agent(n: int) -> dict[str, Any]:
    """The n-th agent, with the long prompt and nested lists the docs show."""
    return {
        "id": agent_id(n),
        "name": f"agent-{n}",
        "person_name": ["Sarah", "Diego", "Ana"][n % 3],
        "language": "en-US" if n % 2 else "multi",
        "webhook_url": "https://hooks.example/calls",
        "conversation_purpose": "Book a demo",
        "prompt": "You are a friendly assistant.\n\n" * 40,
        "volume": 1.2,
        "voice_id": "custom_voice_sarah_123",
        "interruption_sensitivity": 0.5,
        "ambient_sound": "office",
        "voice_speed": 1.0,
        "voice_temperature": 0.7,
        "post_call_analysis_data": [
            {"name": "interested", "type": "boolean", "description": "Wants a demo"}
        ],
        "tools": [{"name": "book", "type": "calendar", "description": "Books slots"}],
        "created_at": iso(EPOCH + timedelta(days=n)),
        "updated_at": iso(EPOCH + timedelta(days=n + 1)),
    }


def make_contact(n: int) -> dict[str, Any]:
    """The n-th contact; ids are UUID-like but not hex, as in the docs."""
    return {
        "id": contact_id(n),
        "created_at": iso(EPOCH + timedelta(hours=n)),
        "phone_number": f"+52155{n:08d}",
        "full_name": f"Persona {n}",
        "country": "México",
        "email": f"p{n}@example.mx",
        "description": "Lead from the fair",
        "additional_data": [
            {"type": "text", "field": "company", "value": "Acme"},
            {"type": "number", "field": "employees", "value": n},
        ],
        "organization_id": "org123456",
    }


#: Every `call_status` the API documents, with the `call_result` each implies
#: (None: the call has not ended, or never started). Completed calls come
#: oftener, as they do in a working organization.
DOCUMENTED_OUTCOMES = [
    ("completed", "answered"),
    ("no-answer", "no_answer"),
    ("completed", "answered"),
    ("busy", "busy"),
    ("voice_mail", "voicemail"),
    ("completed", "answered"),
    ("answering-machine", "voicemail"),
    ("failed", "failed"),
    ("completed", "answered"),
    ("incomplete", "failed"),
    ("in-progress", None),
    ("in-queue", None),
    ("scheduled", None),
]
#: Not (yet) a call that rang: no recording, no end, no duration.
NOT_ENDED = {"in-progress", "in-queue", "scheduled"}
#: How far back the demo's calls go, and the calls of its last minutes.
DEMO_DAYS = 21
DEMO_LAST_MINUTES = 2 * len(DOCUMENTED_OUTCOMES)
#: What customers say in the demo's transcripts (one in five asks for a refund).
DEMO_REQUESTS = [
    "I would like a refund for the last order, it arrived broken.",
    "Can we move the delivery to Friday?",
    "Yes, the address is still the same.",
    "Please call me back next week.",
    "I want to upgrade to the yearly plan.",
]


def demo_call(
    n: int,
    created: datetime,
    *,
    agent: str,
    outbound_numbers: list[str],
) -> dict[str, Any]:
    """The n-th call of the demo: a documented outcome, and a `from` that can be.

    An outbound call is placed from one of the organization's outbound numbers;
    an inbound call comes from the contact's own number.
    """
    row = make_call(n, created=created)
    status, result = DOCUMENTED_OUTCOMES[n % len(DOCUMENTED_OUTCOMES)]
    ended = status not in NOT_ENDED
    outbound = row["direction"] == "outbound"
    return {
        **row,
        "from": outbound_numbers[n % len(outbound_numbers)]
        if outbound
        else row["contact"]["phone_number"],
        "call_status": status,
        "call_result": result,
        "call_record": row["call_record"] if ended else None,
        "finished_at": iso(created + timedelta(minutes=3)) if ended else None,
        "duration": 120 + (n * 37) % 300 if ended else 0,
        "disconnection_reason": ["agent_hangup", "user_hangup"][n % 2]
        if ended
        else None,
        "agent_id": agent,
    }


def demo_transcript(n: int) -> list[dict[str, str]]:
    """A call's turns in the demo: a greeting, the customer's request, an answer."""
    return [
        {"role": "agent", "content": "Hi, this is Sarah from Acme. How can I help?"},
        {"role": "user", "content": DEMO_REQUESTS[n % len(DEMO_REQUESTS)]},
        {"role": "agent", "content": "Of course, I have noted that for you."},
        {"role": "user", "content": "Thank you, goodbye."},
    ]


@dataclass
class Response:
    """A canned answer: status, headers and raw body."""

    status: int
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)
    #: Seconds between two `TRICKLE_BYTES` of the body (0: all at once), after
    #: the status and headers went out at once: a server that is slow, not down.
    trickle: float = 0.0
    #: The status line and headers trickle too (the body then comes at once).
    trickle_headers: bool = False
    #: The trickle never ends: headers that never finish, or a body of spaces
    #: (valid JSON padding) under a `Content-Length` it never reaches.
    endless: bool = False


#: Bytes of a trickling body sent at a time.
TRICKLE_BYTES = 4


#: The `Content-Length` of an endless body: more than any test waits for.
ENDLESS_LENGTH = 1 << 40


#: A response that is never sent: the server closes the connection instead.
DROP = Response(0)


@dataclass
class Variant:
    """How one endpoint answers, among the shapes the docs show (or break)."""

    #: Timestamps as stored (`None`), in one of `TIMESTAMP_STYLES`, or `mixed`.
    timestamps: str | None = None
    #: Added to the true total in `count`.
    count_error: int = 0
    #: Largest `limit` honoured; bigger requests get this many rows.
    max_limit: int | None = None
    #: `items`: an envelope no docs page shows, `{"items": [...], "total": N}`.
    envelope: str | None = None


#: The endpoint each stream reads.
PATHS = {
    "phone_numbers": "/v1/phone-numbers",
    "calls": "/v1/calls",
    "agents": "/v1/agents",
    "contacts": "/v1/contacts",
}


@dataclass
class Seen:
    """One request as the server received it (the key is not kept)."""

    method: str
    path: str
    params: dict[str, str]
    had_valid_key: bool
    user_agent: str
    #: When it arrived (time.monotonic) and how many requests were being served.
    at: float = 0.0
    in_flight: int = 0


class Rejected(Exception):
    """A request the API refuses; carries the error response to send."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


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
        self._generation = 0
        self.seed_phone_numbers(phone_numbers)
        self.calls: list[dict[str, Any]] = []
        self.agents: list[dict[str, Any]] = []
        self.contacts: list[dict[str, Any]] = []
        #: `status` for the documented `{statusCode, data}`; `count` for paging.
        self.agents_envelope = "status"
        #: False: `/v1/contacts` ignores limit/offset and returns its first 100.
        self.contacts_paging = True
        self.latency = latency
        #: Largest `limit` honoured on every endpoint.
        self.max_limit: int | None = None
        #: Answer every page as if `offset` were 0.
        self.ignore_offset = False
        #: Added to the true total in `count`, on every endpoint.
        self.count_error = 0
        #: Per-stream shapes (timestamps, `count`, clamping), on top of the above.
        self.variants = {stream: Variant() for stream in PATHS}
        #: Leave `count` out of the list envelopes.
        self.omit_count = False
        #: Answer newest first whatever `order` asks.
        self.ignore_order = False
        #: Put the API key into 401 bodies, as some APIs do.
        self.echo_key_in_errors = False
        #: Answers to give instead of the real one, consumed in order.
        self.script: list[Response] = []
        #: Called before every data request; may change the data or answer itself.
        self.hooks: list[Hook] = []
        self.requests: list[Seen] = []
        self.in_flight = 0
        #: Turns in each call's `chat_history` when transcripts are asked for.
        self.transcript_turns = 2
        #: A call's own `chat_history` (by call id), instead of generated turns.
        self.transcripts: dict[str, list[dict[str, str]]] = {}
        #: `toon`: transcripts come back as a string whatever format is asked.
        self.transcripts_served_as = "json"
        #: Hours east of UTC of the zone a bare `date_from` day is read in.
        self.date_from_utc_offset = 0.0
        #: Per call id, its own number of turns (a transcript grown or shrunk).
        self.transcript_turns_of: dict[str, int] = {}
        self._transcripts: dict[str, dict[str, Any]] = {}
        #: Data never changes (benchmarks): rows are encoded once and reused.
        self.frozen = False
        self._encoded: dict[int, str] = {}
        self._sorted: dict[str, Any] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def with_transcript(self, row: dict[str, Any]) -> dict[str, Any]:
        """The call with its `chat_history` of `transcript_turns` turns."""
        cached = self._transcripts.get(row["id"])
        if cached is None and row["id"] in self.transcripts:
            cached = {
                **row,
                "chat_history": self.transcripts[row["id"]],
                "transcript_format": "json",
            }
            if self.frozen:
                self._transcripts[row["id"]] = cached
        if cached is None:
            opening = ["Hi, this is Sarah.", "Hello!"]
            turns = [
                {
                    "role": "agent" if turn % 2 == 0 else "user",
                    "content": opening[turn]
                    if turn < len(opening)
                    else (
                        f"Turn {turn}: thanks for taking the call about your order. "
                        "Could you confirm the delivery address and a good time?"
                    ),
                }
                for turn in range(
                    self.transcript_turns_of.get(row["id"], self.transcript_turns)
                )
            ]
            history: Any = turns
            if self.transcripts_served_as == "toon":
                history = "\n".join(f"{t['role']}: {t['content']}" for t in turns)
            cached = {
                **row,
                "chat_history": history,
                "transcript_format": self.transcripts_served_as,
            }
            if self.frozen:
                self._transcripts[row["id"]] = cached
        return cached

    # Data changes (used by tests between pages or between runs)

    def seed_phone_numbers(
        self, count: int, created: list[datetime] | None = None
    ) -> None:
        """Replace the numbers with `count` fresh ones, a minute apart (or
        created at the given instants)."""
        with self.lock:
            moments = created or [EPOCH + timedelta(minutes=n) for n in range(count)]
            self.phone_numbers = [
                make_phone_number(n, created=moment) for n, moment in enumerate(moments)
            ]
            self._next_number = len(moments)
            self._generation += 1

    def seed(self, *, calls: int = 0, agents: int = 0, contacts: int = 0) -> None:
        """Give the other endpoints data."""
        with self.lock:
            self.calls = [make_call(n) for n in range(calls)]
            self.agents = [make_agent(n) for n in range(agents)]
            self.contacts = [make_contact(n) for n in range(contacts)]

    def add_phone_number(self) -> dict[str, Any]:
        """Create a number now; it sorts last."""
        with self.lock:
            latest = max(
                (_instant(row["created_at"]) for row in self.phone_numbers),
                default=EPOCH,
            )
            created = latest + timedelta(seconds=1)
            row = make_phone_number(self._next_number, created=created)
            self._next_number += 1
            self._generation += 1
            self.phone_numbers.append(row)
            return row

    def release_phone_number(self, index: int) -> dict[str, Any]:
        """Delete the number at `index` in ascending order; later rows shift up."""
        with self.lock:
            self._generation += 1
            return self.phone_numbers.pop(index)

    def seed_demo(
        self,
        *,
        phone_numbers: int,
        calls: int,
        agents: int,
        contacts: int,
        now: datetime | None = None,
    ) -> None:
        """An organization as of `now`, for the demo: every README example has rows.

        Calls of the last `DEMO_DAYS` days, the newest in the last minutes, in
        every documented status, each with a transcript; the last agent has
        not called for three days; most contacts were never called.
        """
        now = (now or datetime.now(timezone.utc)).replace(microsecond=0)
        start = now - timedelta(days=DEMO_DAYS)
        with self.lock:
            self.seed_phone_numbers(
                phone_numbers,
                [start - timedelta(days=60, minutes=-n) for n in range(phone_numbers)],
            )
            outbound = [
                row["phone_number"]
                for row in self.phone_numbers
                if row["type"] == "outbound"
            ][:CALLING_NUMBERS] or [phone_number(1)]
            self.agents = [
                {
                    **make_agent(n),
                    "created_at": iso(start - timedelta(days=30 - n)),
                    "updated_at": iso(start - timedelta(days=29 - n)),
                }
                for n in range(agents)
            ]
            self.contacts = [
                {**make_contact(n), "created_at": iso(start + timedelta(hours=n))}
                for n in range(contacts)
            ]
            spread = max(calls - DEMO_LAST_MINUTES, 1)
            step = (now - timedelta(hours=1) - start) / spread
            self.calls = []
            for n in range(calls):
                created = (
                    start + step * n
                    if n < spread
                    else now - timedelta(minutes=calls - n)
                )
                active = (
                    agents
                    if agents < 2 or created < now - timedelta(days=3)
                    else agents - 1
                )
                agent = agent_id(n % active) if agents else AGENT_IDS[0]
                self.calls.append(
                    demo_call(n, created, agent=agent, outbound_numbers=outbound)
                )
            self.transcripts = {
                row["id"]: demo_transcript(n) for n, row in enumerate(self.calls)
            }

    def touch(self) -> None:
        """Rows were changed in place (a call's `created_at`): sort them again."""
        with self.lock:
            self._generation += 1

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
        self._server = _Server(("127.0.0.1", port), handler)
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
        if seen.path == "/_fake/stats":  # for the benchmarks; not part of the API
            return json_response(200, {"requests": len(self.requests)})
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
            try:
                return self.serve(seen)
            except Rejected as rejected:
                return rejected.response

    def serve(self, seen: Seen) -> Response:
        """The API's own answer: key check, then the endpoint."""
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

    def envelope(
        self, stream: str, rows: list[dict[str, Any]], total: int
    ) -> dict[str, Any]:
        """`{"data": [...], "count": N}`, with the configured faults."""
        if self.variants[stream].envelope == "items":
            return {"items": rows, "total": self.reported_count(stream, total)}
        if self.omit_count:
            return {"data": rows}
        return {"data": rows, "count": self.reported_count(stream, total)}

    def reported_count(self, stream: str, total: int) -> int:
        """The `count` the API reports for a list of `total` rows (never negative)."""
        return max(0, total + self.count_error + self.variants[stream].count_error)

    def warm(self) -> None:
        """Sort and encode every row now, so no timed request pays for it."""
        for rows in (self.phone_numbers, self.calls):
            if rows:
                self.page(rows, {"limit": "1"}, default_limit=1)
                self.fast_page(rows, len(rows))
                if self.transcript_turns and rows is self.calls:
                    self.fast_page([self.with_transcript(r) for r in rows], len(rows))

    def fast_page(self, rows: list[dict[str, Any]], count: int) -> Response:
        """The same body as `json_response`, from rows encoded only once."""
        encoded = self._encoded
        parts = []
        for row in rows:
            text = encoded.get(id(row))
            if text is None:
                text = encoded[id(row)] = json.dumps(row)
            parts.append(text)
        body = '{"data": [' + ", ".join(parts) + '], "count": ' + str(count) + "}"
        return Response(200, body.encode(), {"Content-Type": "application/json"})

    def page(
        self,
        rows: list[dict[str, Any]],
        params: dict[str, str],
        *,
        default_limit: int,
        stream: str = "phone_numbers",
        sort_key: str = "created_at",
    ) -> tuple[list[dict[str, Any]], int]:
        """Apply order/limit/offset like the API; returns rows and the true total.

        The rows come in the stream's timestamp style.

        Raises:
            Rejected: the paging parameters are invalid (a 400).
        """
        try:
            limit = int(params.get("limit", default_limit))
            offset = int(params.get("offset", 0))
        except ValueError:
            limit = offset = -1
        if limit < 0 or offset < 0:
            raise Rejected(
                json_response(400, {"statusCode": 400, "message": "Bad paging"})
            )
        order = "desc" if self.ignore_order else params.get("order", "desc")
        cache_key = (id(rows), len(rows), sort_key, self._generation)
        if self._sorted.get("key") != cache_key:
            self._sorted = {
                "key": cache_key,
                # By instant, like a database: offsets and fractions may differ.
                "rows": sorted(rows, key=lambda r: (_sort_key(r[sort_key]), r["id"])),
            }
        ordered = self._sorted["rows"]
        if order == "desc":
            ordered = ordered[::-1]
        variant = self.variants[stream]
        for cap in (self.max_limit, variant.max_limit):
            if cap is not None:
                limit = min(limit, cap)
        if self.ignore_offset:
            offset = 0
        return self.styled(stream, ordered[offset : offset + limit]), len(ordered)

    def styled(self, stream: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Rows with timestamps written in the stream's style."""
        style = self.variants[stream].timestamps
        return rows if style is None else restyled(rows, style)


def json_response(status: int, payload: Any) -> Response:
    """A JSON answer."""
    return Response(
        status, json.dumps(payload).encode(), {"Content-Type": "application/json"}
    )


def _phone_numbers(api: FakeContactship, params: dict[str, str]) -> Response:
    rows = api.phone_numbers
    if "type" in params:
        rows = [r for r in rows if r["type"] == params["type"]]
    data, total = api.page(rows, params, default_limit=5)
    if api.frozen:
        return api.fast_page(data, api.reported_count("phone_numbers", total))
    return json_response(200, api.envelope("phone_numbers", data, total))


def _day_or_time(value: str, *, end: bool, utc_offset: float = 0.0) -> datetime:
    if len(value) == 10:  # a bare date covers the whole day (of the API's zone)
        day = datetime.fromisoformat(value).replace(tzinfo=timezone.utc)
        day -= timedelta(hours=utc_offset)
        return day + timedelta(days=1, microseconds=-1) if end else day
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _calls(api: FakeContactship, params: dict[str, str]) -> Response:
    rows = api.calls
    try:
        if "date_from" in params:
            since = _day_or_time(
                params["date_from"], end=False, utc_offset=api.date_from_utc_offset
            )
            rows = [r for r in rows if _created(r) >= since]
        if "date_to" in params:
            until = _day_or_time(params["date_to"], end=True)
            rows = [r for r in rows if _created(r) <= until]
    except ValueError:
        return json_response(400, {"statusCode": 400, "message": "Invalid date"})
    data, total = api.page(rows, params, default_limit=20, stream="calls")
    if params.get("include_transcript") == "true":
        data = [api.with_transcript(row) for row in data]
    if api.frozen:
        return api.fast_page(data, api.reported_count("calls", total))
    return json_response(200, api.envelope("calls", data, total))


def _created(row: dict[str, Any]) -> datetime:
    return _instant(row["created_at"])


def _sort_key(value: str) -> tuple[int, datetime | str]:
    try:
        return (0, _instant(value))
    except ValueError:  # a garbled value (a test's fault) sorts last
        return (1, value)


def _instant(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "T"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _agents(api: FakeContactship, params: dict[str, str]) -> Response:
    if api.agents_envelope == "status":
        data = api.styled("agents", api.agents)
        return json_response(200, {"statusCode": 200, "data": data})
    data, total = api.page(api.agents, params, default_limit=20, stream="agents")
    return json_response(200, api.envelope("agents", data, total))


def _contacts(api: FakeContactship, params: dict[str, str]) -> Response:
    if not api.contacts_paging:
        return json_response(200, api.styled("contacts", api.contacts[:100]))
    data, total = api.page(api.contacts, params, default_limit=100, stream="contacts")
    if api.variants["contacts"].envelope == "items":
        return json_response(200, api.envelope("contacts", data, total))
    return json_response(200, data)


ROUTES: dict[str, Callable[[FakeContactship, dict[str, str]], Response]] = {
    "/v1/phone-numbers": _phone_numbers,
    "/v1/calls": _calls,
    "/v1/agents": _agents,
    "/v1/contacts": _contacts,
}


def faults(*, every_429: int, retry_after: str, every_500: int) -> Hook:
    """A hook failing every n-th request with 429 and every m-th with 500."""

    def hook(api: FakeContactship, seen: Seen) -> Response | None:
        n = len(api.requests)
        if every_429 and n % every_429 == 0:
            return Response(
                429, b'{"message": "Too many requests"}', {"Retry-After": retry_after}
            )
        if every_500 and n % every_500 == 0:
            return Response(500, b'{"message": "Internal error"}')
        return None

    return hook


def trickling(
    seconds: float,
    *,
    path: str = "/v1/calls",
    times: int = 0,
    headers: bool = False,
    endless: bool = False,
) -> Hook:
    """A hook serving `path` as usual, its body a few bytes every `seconds`.

    `times`: only that many requests trickle (0: every one). `headers`: the
    status line and headers trickle instead. `endless`: the trickle never ends.
    """
    trickled = 0

    def hook(api: FakeContactship, seen: Seen) -> Response | None:
        nonlocal trickled
        if seen.path != path or (times and trickled >= times):
            return None
        trickled += 1
        try:
            real = api.serve(seen)
        except Rejected as rejected:
            real = rejected.response
        return Response(
            real.status,
            real.body,
            real.headers,
            trickle=seconds,
            trickle_headers=headers,
            endless=endless,
        )

    return hook


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hung up (a page fetched ahead and abandoned, a tap
        # that stopped) is not the server's error: nothing to print.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


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
        with self.api.lock:
            self.api.in_flight += 1
            seen.at, seen.in_flight = time.monotonic(), self.api.in_flight
        try:
            response = self.api.answer(seen)
        finally:
            with self.api.lock:
                self.api.in_flight -= 1
        if response is DROP:
            self.close_connection = True
            return
        body = (
            response.body.encode() if isinstance(response.body, str) else response.body
        )
        if response.trickle_headers:
            self.trickle_head(response, body)
            return
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        length = ENDLESS_LENGTH if response.endless else len(body)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        if not response.trickle:
            self.wfile.write(body)
            return
        self.trickle(
            itertools.repeat(b" ") if response.endless else body, response.trickle
        )

    def trickle_head(self, response: Response, body: bytes) -> None:
        """Status line and headers a few bytes at a time, then `body` at once."""
        head = [f"HTTP/1.1 {response.status} {HTTPStatus(response.status).phrase}"]
        head += [f"{name}: {value}" for name, value in response.headers.items()]
        head.append(f"Content-Length: {len(body)}")
        if response.endless:
            # Headers that never end: the status line, then one more forever.
            self.trickle(f"{head[0]}\r\n".encode(), response.trickle)
            self.trickle(
                itertools.cycle([b"X-Wa", b"it: ", b"1\r\n"]), response.trickle
            )
        self.trickle(("\r\n".join(head) + "\r\n\r\n").encode(), response.trickle)
        self.wfile.write(body)

    def trickle(self, data: bytes | Iterable[bytes], seconds: float) -> None:
        """`data` (`TRICKLE_BYTES` a time, or piece by piece) every `seconds`."""
        pieces = (
            [data[at : at + TRICKLE_BYTES] for at in range(0, len(data), TRICKLE_BYTES)]
            if isinstance(data, bytes)
            else data
        )
        self.wfile.flush()
        for piece in pieces:
            time.sleep(seconds)
            self.wfile.write(piece)
            self.wfile.flush()

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet; the request log is in `api.requests`."""


def main(argv: list[str] | None = None) -> None:
    """Serve a fake organization until interrupted (for the demo and benchmarks)."""

    class Formatter(
        argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter
    ):
        pass

    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n", 1)[0],
        epilog=__doc__[__doc__.index("By hand") :].strip(),
        formatter_class=Formatter,
    )
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--api-key", default=DEFAULT_KEY, help="the key it accepts")
    parser.add_argument("--phone-numbers", type=int, default=250, help="rows")
    parser.add_argument("--calls", type=int, default=400, help="rows")
    parser.add_argument("--agents", type=int, default=3, help="rows")
    parser.add_argument("--contacts", type=int, default=120, help="rows")
    parser.add_argument(
        "--transcript-turns", type=int, default=2, help="turns per call transcript"
    )
    parser.add_argument(
        "--max-limit", type=int, default=None, help="largest page it serves"
    )
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="added to every request"
    )
    parser.add_argument("--url-file", help="write the base URL here once listening")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="data as of now (the last weeks, every documented call status, a "
        "transcript per call), which answers every example query of the README",
    )
    parser.add_argument(
        "--every-nth-429", type=int, default=0, metavar="N", help="0: never"
    )
    parser.add_argument("--retry-after", default="1", help="Retry-After of those 429s")
    parser.add_argument(
        "--every-nth-500", type=int, default=0, metavar="N", help="0: never"
    )
    args = parser.parse_args(argv)

    api = FakeContactship(
        api_key=args.api_key,
        phone_numbers=args.phone_numbers,
        latency=args.latency_ms / 1000,
    )
    if args.demo:
        api.seed_demo(
            phone_numbers=args.phone_numbers,
            calls=args.calls,
            agents=args.agents,
            contacts=args.contacts,
        )
    else:
        api.seed(calls=args.calls, agents=args.agents, contacts=args.contacts)
    api.transcript_turns = args.transcript_turns
    api.max_limit = args.max_limit
    api.frozen = True
    api.warm()
    api.hooks.append(
        faults(
            every_429=args.every_nth_429,
            retry_after=args.retry_after,
            every_500=args.every_nth_500,
        )
    )
    api.start(args.port)
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
