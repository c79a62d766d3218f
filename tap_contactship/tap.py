"""The tap: its description, its settings and its streams."""

from __future__ import annotations

import os
import sys
import typing as t
from functools import cached_property

import click
from singer_sdk import Tap
from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError

from tap_contactship import streams
from tap_contactship.batch_settings import batch_map_problems
from tap_contactship.calls_window import Interrupted
from tap_contactship.errors import ConfigError
from tap_contactship.output import BufferedSingerWriter
from tap_contactship.reads import WholeReads, WholeReadsStream
from tap_contactship.redaction import install_redaction, register_secret
from tap_contactship.settings import (
    DEFAULT_API_URL,
    DEFAULT_USER_AGENT,
    describe_sdk_errors,
    env_problems,
    extra_problems,
    given_settings,
    unknown_settings,
    unknown_variables,
    validation_errors,
)

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from singer_sdk import Stream


class TapContactship(Tap):
    # One line: `--about` puts it into a template that it dedents afterwards.
    """Singer tap for Contactship, the AI phone-calling platform. Every row exactly once."""  # noqa: E501

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
                "(dashboard: Settings > API Keys). Env: `TAP_CONTACTSHIP_API_KEY` "
                "(under Meltano, or with `--config=ENV`)."
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
                "New rows per request (the API's own default is 5). Every request "
                "asks for one row more (`limit` = page_size + 1): the row shared "
                "with the page before, which proves nothing shifted."
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
            default=DEFAULT_USER_AGENT,
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
        self,
        *args: t.Any,
        validate_config: bool = True,
        parse_env_config: bool = False,
        **kwargs: t.Any,
    ) -> None:
        """Build the tap; a bad setting is one line that names it.

        The SDK validates the settings; its messages quote the offending value,
        which for a mistyped `api_key` is the secret itself, so they are said
        again without it (and with where a missing setting goes).

        Raises:
            ConfigError: A setting is missing or invalid.
        """
        schema = self.config_jsonschema
        given = args[0] if args else kwargs.get("config")
        source = "env" if parse_env_config else "file" if given else "none"
        if parse_env_config and validate_config:
            problems = env_problems(os.environ, schema)
            if problems:
                raise ConfigError("invalid config: " + "; ".join(problems))
        try:
            super().__init__(
                *args,
                validate_config=validate_config,
                parse_env_config=parse_env_config,
                **kwargs,
            )
        except ConfigValidationError as exc:
            settings = given_settings(given, parse_env_config=parse_env_config)
            errors = validation_errors(self.config, exc.schema or schema)
            problems = describe_sdk_errors(errors, settings, schema, source=source)
            problems += extra_problems(settings)
            raise ConfigError("invalid config: " + "; ".join(problems)) from None
        key = str(self.config.get("api_key") or "")
        register_secret(key)
        register_secret(key.strip())
        install_redaction()
        for unknown, guess in unknown_settings(self.config, schema):
            hint = f"; did you mean `{guess}`?" if guess else ""
            self.logger.warning("unknown setting `%s` is ignored%s", unknown, hint)
        # The SDK reads only the variables of declared settings, so a misspelt
        # one would change nothing without a word.
        for unknown, guess in unknown_variables(os.environ, schema):
            hint = f"; did you mean {guess}?" if guess else ""
            self.logger.warning("unknown variable %s is ignored%s", unknown, hint)
        problems = extra_problems(self.config) if validate_config else []
        if validate_config and self.config.get("batch_config"):
            problems += batch_map_problems(self.mapper.stream_maps)
        if problems:
            raise ConfigError("invalid config: " + "; ".join(problems))
        if key != key.strip():
            self.logger.warning(
                "`api_key` has leading or trailing spaces; they are ignored"
            )

    @classmethod
    @override
    def get_singer_command(cls) -> click.Command:
        command = super().get_singer_command()
        # `cli.main` runs the report before click sees the arguments: the
        # option is here so that `--help` lists it.
        command.params.append(
            click.Option(
                ["--diagnose"],
                is_flag=True,
                expose_value=False,
                help=(
                    "Probe the API with a few read-only requests and report what "
                    "it serves (--format=json: one document without keys or "
                    "personal data, for a bug report)."
                ),
            )
        )
        return command

    @cached_property
    def whole_reads(self) -> WholeReads:
        """The lists this run read whole."""
        return WholeReads()

    @cached_property
    def interrupted(self) -> Interrupted:
        """The streams whose input state is an interrupted run's."""
        return Interrupted()

    @override
    def load_state(self, state: dict[str, t.Any]) -> None:
        super().load_state(state)
        # Read before the sync overwrites the SDK's marker of an unfinished run.
        self.interrupted.load(state)

    @override
    def discover_streams(self) -> list[Stream]:
        writer = self.message_writer
        batch_rows = (
            writer.note_batch_rows if isinstance(writer, BufferedSingerWriter) else None
        )
        found: list[Stream] = [
            stream_class(
                tap=self,
                reads=self.whole_reads,
                batch_rows=batch_rows,
                interrupted=self.interrupted,
            )
            for stream_class in streams.STREAMS
        ]
        return [*found, WholeReadsStream(self, self.whole_reads)]
