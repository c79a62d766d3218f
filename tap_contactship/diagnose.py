"""`tap-contactship --diagnose`: a few read-only requests that show the real API.

The docs show two generations of envelopes, four timestamp styles, lists with
and without paging, and say nothing of rate limits or the largest page. This
asks each list the tap reads a handful of questions (at most `BUDGET`
requests in all, `SPACING` seconds apart, never more than one page of a list)
with the tap's own streams, session, authenticator and parsing, and hands
what came back to `diagnosis.py`, which says what it means and what the tap
does about it.

Per list: its default page (no paging parameters), the largest page it serves
(`limit` 1001, the tap's largest), a small page overlapping it (offset 1,
limit 2), and one page near the end that tells a cap from a lying `count`;
for calls also one `date_from` around a UTC day boundary and one transcript.
"""

from __future__ import annotations

import argparse
import sys
import time
import typing as t
from dataclasses import replace

from singer_sdk.streams.rest import PageContext

from tap_contactship import deadline, diagnosis, interrupts, responses
from tap_contactship.client import ContactshipStream
from tap_contactship.diagnosis_report import Report
from tap_contactship.errors import APIError, ConfigError
from tap_contactship.exchanges import Exchange, envelope_of
from tap_contactship.pagination import PageToken
from tap_contactship.redaction import redact
from tap_contactship.responses import MalformedBodyError, Verdict
from tap_contactship.retry import NETWORK_ERRORS, network_cause, parse_retry_after
from tap_contactship.tap import TapContactship
from tap_contactship.timestamps import parse_timestamp

if t.TYPE_CHECKING:
    from collections.abc import Sequence

    import requests


#: Requests in all, retries included.
BUDGET = 20
#: Seconds between two requests: a diagnosis must not look like a load test.
SPACING = 0.25
#: The largest `limit` the tap ever sends (`page_size` 1000, plus the overlap).
LARGEST_LIMIT = 1001
#: Longest wait for a `Retry-After` before the one retry a probe gets.
MAX_WAIT = 30.0
RATE_LIMIT_HEADERS = ("retry-after", "x-ratelimit", "ratelimit")


class Prober:
    """Sends the diagnosis's requests through a stream, within one budget."""

    def __init__(self, budget: int = BUDGET, spacing: float = SPACING) -> None:
        """Allow `budget` requests, `spacing` seconds apart."""
        self.budget, self.spacing, self.sent = budget, spacing, 0
        #: Requests answered 200: until one is, a failure ends the diagnosis.
        self.answered = 0

    def ask(
        self,
        stream: ContactshipStream,
        purpose: str,
        token: PageToken | None,
        **extra: t.Any,
    ) -> Exchange | None:
        """The stream's own request for `token` (plus `extra` parameters), sent.

        A 429, 5xx or network failure is retried once, after `Retry-After`
        (capped) or a second. None once the budget is spent.
        """
        http_request = stream.get_http_request(
            page=PageContext(stream_context=None, next_page_token=token)
        )
        http_request = replace(http_request, params={**http_request.params, **extra})
        exchange = Exchange(purpose)
        for attempt in (1, 2):
            if self.sent >= self.budget:
                return exchange if attempt > 1 else None
            if self.sent:
                stream.clock.sleep(self.spacing)
            interrupts.check()
            self.sent += 1
            request = stream.build_prepared_request(
                method=http_request.method,
                url=http_request.url,
                params=http_request.encode_params(),
                headers=http_request.headers,
            )
            wait = self.send(stream, request, exchange)
            if wait is None or attempt == 2:
                return exchange
            stream.clock.sleep(wait)
        return exchange  # pragma: no cover - the loop always returns

    def send(
        self,
        stream: ContactshipStream,
        request: requests.PreparedRequest,
        exchange: Exchange,
    ) -> float | None:
        """Send once and fill `exchange`; how long to wait before a retry, if any."""
        line = responses.request_line(request)
        exchange.error = exchange.refused = exchange.payload = None
        started = time.monotonic()
        try:
            response = deadline.send(
                stream.requests_session,
                request,
                timeout=float(stream.config["request_timeout"]),
                allow_redirects=stream.allow_redirects,
            )
        except NETWORK_ERRORS as exc:
            cause, retriable = network_cause(exc)
            exchange.statuses.append(0)
            exchange.error = redact(
                f"{line}: no response from {stream.config['api_url']}: {cause}; "
                "check `api_url` and the network"
            )
            return 1.0 if retriable else None
        exchange.seconds = time.monotonic() - started
        exchange.status = response.status_code
        exchange.statuses.append(response.status_code)
        exchange.rate_headers = {
            name: value[:40]
            for name, value in response.headers.items()
            if name.lower().startswith(RATE_LIMIT_HEADERS)
        }
        verdict = responses.verdict(
            response.status_code, is_redirect=response.is_redirect
        )
        if verdict is not Verdict.OK:
            failure = responses.describe_failure(verdict, response)
            exchange.error = redact(" ".join(failure.split()))
            if verdict is not Verdict.RETRY:
                return None
            wait = parse_retry_after(response.headers.get("Retry-After"))
            return min(MAX_WAIT, 1.0 if wait is None else wait)
        self.answered += 1
        try:
            exchange.payload = responses.body(response)
            stream.parse_response(response)
        except MalformedBodyError as exc:
            exchange.refused = responses.malformed_message(line, str(exc))
        return None


def probe_list(prober: Prober, stream: ContactshipStream) -> list[Exchange]:
    """The default page, the largest page, an overlapping page, the end."""
    exchanges: list[Exchange] = []

    def ask(purpose: str, token: PageToken | None, **extra: t.Any) -> Exchange | None:
        exchange = prober.ask(stream, purpose, token, **extra)
        if exchange is not None:
            exchanges.append(exchange)
            if exchange.error and not prober.answered:
                # Nothing learnt yet (a rejected key, a wrong URL): one line.
                raise APIError.of(exchange.error, exchange.statuses[-1])
        return exchange

    default = ask("default page", None)
    largest = ask("largest page", PageToken(0, LARGEST_LIMIT))
    overlap = ask("overlapping page", PageToken(1, 2))
    if default is None or largest is None or overlap is None or largest.error:
        return exchanges
    first, rows = largest.rows, overlap.rows
    if rows and first and rows[0].get("id") == first[0].get("id"):
        return exchanges  # `offset` ignored: there is no end to look for
    count = envelope_of(largest.payload)[2]
    if count is not None and count > len(first):
        end = ask("page at count - 1", PageToken(count - 1, 2))
        if end is None or end.rows:
            return exchanges  # `count` is right, or too low
    elif count is not None:
        return exchanges  # a page not full holds the whole list: `count` is judged
    if first:
        ask("page after the largest", PageToken(len(first), 2))
    return exchanges


def probe_calls(prober: Prober, stream: ContactshipStream) -> list[Exchange]:
    """The list's probes, then `date_from` at a day boundary and one transcript."""
    exchanges = probe_list(prober, stream)
    largest = next((e for e in exchanges if e.purpose == "largest page"), None)
    boundary = diagnosis.day_boundary(largest.rows if largest else [])
    if boundary is not None:
        # The stream sends no `date_from` without a window: the probe sets it.
        day = parse_timestamp(boundary["created_at"]).date().isoformat()
        dated = prober.ask(
            stream, "date_from at a day boundary", PageToken(0, 3), date_from=day
        )
        if dated is not None:
            exchanges.append(dated)
    if largest is not None and largest.rows:
        transcript = prober.ask(
            stream,
            "transcript",
            PageToken(0, 1),
            include_transcript="true",
            transcript_format="json",
        )
        if transcript is not None:
            exchanges.append(transcript)
    return exchanges


def diagnose(tap: TapContactship, prober: Prober) -> Report:
    """Probe every list the tap reads, and judge what came back."""
    started = time.monotonic()
    seen: dict[str, list[Exchange]] = {}
    for name, stream in tap.streams.items():
        if not isinstance(stream, ContactshipStream):
            continue  # whole_reads: the tap's own record of its reads
        probe = probe_calls if name == "calls" else probe_list
        seen[name] = probe(prober, stream)
    return Report(
        tap,
        seen,
        requests_sent=prober.sent,
        budget=prober.budget,
        seconds=time.monotonic() - started,
        largest_limit=LARGEST_LIMIT,
    )


class _Arguments(argparse.ArgumentParser):
    def error(self, message: str) -> t.NoReturn:
        raise ConfigError(f"--diagnose: {message}")


def main(args: Sequence[str]) -> None:
    """Run the diagnosis for the command line `args`; the table on stderr."""
    parser = _Arguments(prog="tap-contactship --diagnose", add_help=False)
    parser.add_argument("--config", action="append", default=[])
    parser.add_argument(
        "--format", choices=["text", "json", "markdown"], default="text", type=str.lower
    )
    known, _ = parser.parse_known_args([a for a in args if a != "--diagnose"])
    env = "ENV" in known.config
    files = [path for path in known.config if path != "ENV"]
    tap = TapContactship(
        config=files or None, parse_env_config=env, validate_config=True
    )
    report = diagnose(tap, Prober())
    table = report.table()
    sys.stderr.write(table + "\n")
    if known.format == "json":
        sys.stdout.write(report.json() + "\n")
    elif known.format == "markdown":
        sys.stdout.write(table + "\n")
