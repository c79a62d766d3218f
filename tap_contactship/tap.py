"""The tap: its settings, their validation, its streams and its CLI entry point."""

from __future__ import annotations

import gc
import ipaddress
import logging
import sys
import typing as t
from urllib.parse import urlparse

from jsonschema import Draft7Validator
from singer_sdk import Tap
from singer_sdk import typing as th
from singer_sdk.exceptions import InvalidStreamSortException

from tap_contactship import __version__, streams
from tap_contactship.errors import ConfigError, ContactshipError, RedactingFilter
from tap_contactship.output import BufferedSingerWriter, flush_writers

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from jsonschema import ValidationError

    from tap_contactship.client import ContactshipStream

DEFAULT_API_URL = "https://api.contactship.ai"


class TapContactship(Tap):
    """Singer tap for Contactship, the AI phone-calling platform.

    Reads phone numbers, calls, agents and contacts from the Contactship REST API
    (`x-api-key` auth). Offset paging is checked page by page so that every row is
    emitted exactly once, even when the server returns short pages or rows are
    added or released mid-sync; 429 `Retry-After` is honoured.
    """

    name = "tap-contactship"
    message_writer_class = BufferedSingerWriter

    config_jsonschema = th.PropertiesList(
        th.Property(
            "api_key",
            th.StringType(min_length=1),
            required=True,
            secret=True,
            title="API key",
            description=(
                "Contactship API key, sent as the `x-api-key` header "
                "(dashboard: Settings > API Keys). Env: `TAP_CONTACTSHIP_API_KEY`."
            ),
        ),
        th.Property(
            "api_url",
            th.StringType(min_length=1),
            default=DEFAULT_API_URL,
            title="API URL",
            description=(
                "Root of the Contactship API, without `/v1`. Must be `https://` "
                "unless the host is loopback (a local test server)."
            ),
        ),
        th.Property(
            "page_size",
            th.IntegerType(minimum=1, maximum=1000),
            default=100,
            title="Page size",
            description=(
                "New rows per request (`limit`; the API's own default is 5). Pages "
                "after the first ask for one extra row to check nothing shifted."
            ),
        ),
        th.Property(
            "phone_number_type",
            th.StringType,
            allowed_values=["inbound", "outbound"],
            title="Phone number type",
            description="Only sync phone numbers of this type (server-side filter).",
        ),
        th.Property(
            "start_date",
            th.DateTimeType,
            title="Start date",
            description=(
                "Earliest call `created_at` to sync (ISO 8601). Unset: every call. "
                "Calls before it are never synced, even inside the look-back."
            ),
        ),
        th.Property(
            "calls_lookback_days",
            th.NumberType(minimum=0, maximum=365),
            default=3,
            title="Calls look-back (days)",
            description=(
                "Each run re-reads calls created this many days before the bookmark, "
                "to pick up status, result, analysis and recording that arrive later."
            ),
        ),
        th.Property(
            "include_transcripts",
            th.BooleanType,
            default=False,
            title="Include transcripts",
            description=(
                "Request call transcripts (`chat_history`, JSON format). Large."
            ),
        ),
        th.Property(
            "max_concurrent_requests",
            th.IntegerType(minimum=1, maximum=16),
            default=6,
            title="Max concurrent requests",
            description=(
                "Pages fetched at once once a list's `count` is known (6: the "
                "per-host cap of every browser). Halved on every 429, regrown one "
                "at a time; 1 reads strictly page by page."
            ),
        ),
        th.Property(
            "progress_interval",
            th.NumberType(minimum=0),
            default=5,
            title="Progress interval",
            description=(
                "Seconds between progress lines (rows, percent, rate, ETA) on "
                "stderr during long syncs; 0 turns them off."
            ),
        ),
        th.Property(
            "request_timeout",
            th.NumberType(exclusive_minimum=0),
            default=60,
            title="Request timeout",
            description="Seconds to wait for each response before retrying.",
        ),
        th.Property(
            "max_retries",
            th.IntegerType(minimum=1, maximum=20),
            default=5,
            title="Max retries",
            description=(
                "Attempts for a request that fails with 429, 5xx, a timeout or a "
                "dropped connection before the sync fails."
            ),
        ),
        th.Property(
            "user_agent",
            th.StringType,
            default=f"tap-contactship/{__version__}",
            title="User agent",
            description="`User-Agent` header sent with every request.",
        ),
        th.Property(
            "emit_activate_version_messages",
            th.BooleanType,
            default=False,
            title="Emit ACTIVATE_VERSION messages",
            description=(
                "Emit `ACTIVATE_VERSION` for full-table streams so a target can "
                "delete or soft-delete rows that no longer exist at the source."
            ),
        ),
    ).to_dict()

    def __init__(
        self, *args: t.Any, validate_config: bool = True, **kwargs: t.Any
    ) -> None:
        """Build the tap, then check the settings with messages that name them.

        The SDK's own validation is turned off: its messages echo the offending
        value, which for a mistyped `api_key` is the secret itself.
        """
        super().__init__(*args, validate_config=False, **kwargs)
        install_redaction([str(self.config.get("api_key") or "")])
        if validate_config:
            problems = config_problems(self.config, self.config_jsonschema)
            if problems:
                raise ConfigError("invalid config: " + "; ".join(problems))

    @override
    def discover_streams(self) -> list[ContactshipStream]:
        return [stream_class(tap=self) for stream_class in streams.STREAMS]


def config_problems(
    config: t.Mapping[str, t.Any], schema: dict[str, t.Any]
) -> list[str]:
    """Describe every invalid setting in one phrase each, never quoting its value."""
    problems = [
        _describe(error)
        for error in sorted(
            Draft7Validator(schema).iter_errors(dict(config)),
            key=lambda e: [str(part) for part in e.path],
        )
    ]
    url = config.get("api_url")
    if isinstance(url, str) and url:
        url_problem = api_url_problem(url)
        if url_problem:
            problems.append(url_problem)
    start_date = config.get("start_date")
    if isinstance(start_date, str):
        try:
            streams.parse_timestamp(start_date)
        except ContactshipError:
            problems.append("`start_date` must be an ISO 8601 date-time")
    return problems


def _describe(error: ValidationError) -> str:
    if error.validator == "required":
        missing = str(error.message).split("'")[1]
        env = f"TAP_CONTACTSHIP_{missing.upper()}"
        return f"`{missing}` is required (set it in the config or {env})"
    name = ".".join(str(part) for part in error.path) or "config"
    rule = error.validator_value
    listed = " or ".join(map(str, rule)) if isinstance(rule, list) else str(rule)
    phrases = {
        "type": f"must be of type {listed}",
        "enum": "must be one of: " + listed.replace(" or ", ", "),
        "minimum": f"must be at least {rule}",
        "maximum": f"must be at most {rule}",
        "exclusiveMinimum": f"must be greater than {rule}",
        "minLength": "must not be empty",
    }
    return f"`{name}` {phrases.get(str(error.validator), 'is invalid')}"


def api_url_problem(url: str) -> str | None:
    """Refuse URLs that would send the key in clear text to another machine."""
    parsed = urlparse(url)
    try:
        parsed.port  # noqa: B018 (raises on a malformed port)
    except ValueError:
        return "`api_url` has an invalid port"
    if parsed.scheme not in {"http", "https"} or not parsed.hostname:
        return "`api_url` must be an http(s) URL such as https://api.contactship.ai"
    if parsed.scheme == "https" or _is_loopback(parsed.hostname):
        return None
    return (
        "`api_url` must use https:// (plain http is only allowed for loopback "
        "hosts), or the API key would travel in clear text"
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def install_redaction(secrets: list[str]) -> None:
    """Scrub the secrets from every log handler configured so far."""
    log_filter = RedactingFilter(secrets)
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    for logger in loggers:
        for handler in logger.handlers:
            handler.filters = [
                f for f in handler.filters if not isinstance(f, RedactingFilter)
            ]
            handler.addFilter(log_filter)


def main() -> None:
    """Run the CLI; a known failure ends with one line on stderr and exit 1."""
    try:
        TapContactship.cli()
    except (ContactshipError, InvalidStreamSortException) as exc:
        flush_writers()  # the records read before the failure come first
        message = " ".join(str(exc).split())
        if isinstance(exc, InvalidStreamSortException):
            message = (
                "the API returned rows out of `created_at` order, so a bookmark "
                f"would be wrong; it may be ignoring order=asc ({message})"
            )
        sys.stderr.write(f"tap-contactship: error: {message}\n")
        sys.exit(1)
    finally:
        flush_writers()


def cli() -> None:
    """The `tap-contactship` command: `main` in a process of its own."""
    # Everything imported so far lives until exit: keep the garbage collector
    # from walking it again and again, and once more at shutdown (~40 ms).
    gc.freeze()
    main()


if __name__ == "__main__":
    cli()
