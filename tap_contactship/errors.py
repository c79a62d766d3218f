"""Errors that end a sync with one line a user can act on."""

from __future__ import annotations

import logging
import typing as t


class ContactshipError(Exception):
    """A failure explained in one line; the CLI prints it without a traceback."""


class ConfigError(ContactshipError):
    """A setting is missing or invalid; raised before any request is sent."""


class APIError(ContactshipError):
    """The Contactship API refused the request or answered something unusable."""


REDACTED = "***REDACTED***"
#: Shorter "secrets" are not real keys; scrubbing them would mangle every log line.
MIN_SECRET_LENGTH = 4


def redact(text: str, secrets: t.Iterable[str]) -> str:
    """Replace every secret in ``text``."""
    for secret in secrets:
        if len(secret) >= MIN_SECRET_LENGTH:
            text = text.replace(secret, REDACTED)
    return text


class RedactingFilter(logging.Filter):
    """Scrubs secrets from every log record that passes through a handler.

    Installed on handlers rather than loggers so that records from libraries
    (urllib3, the SDK, backoff) are scrubbed too, at every level.
    """

    def __init__(self, secrets: t.Iterable[str]) -> None:
        """Remember the secrets to scrub (empty strings are ignored)."""
        super().__init__()
        self.secrets = tuple(s for s in secrets if len(s) >= MIN_SECRET_LENGTH)

    def filter(self, record: logging.LogRecord) -> bool:
        """Render the record once with the secrets replaced; never drop it."""
        message = record.getMessage()
        scrubbed = redact(message, self.secrets)
        if scrubbed != message or record.args:
            record.msg = scrubbed
            record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            rendered = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(rendered, self.secrets)
        return True
