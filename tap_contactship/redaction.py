"""Keeping the API key out of every message, log line and error."""

from __future__ import annotations

import logging

REDACTED = "***REDACTED***"
#: Shorter "secrets" are not real keys; scrubbing them would mangle every log line.
MIN_SECRET_LENGTH = 4

_SECRETS: set[str] = set()


def register_secret(secret: str) -> None:
    """Scrub ``secret`` from everything redacted from now on."""
    if len(secret) >= MIN_SECRET_LENGTH:
        _SECRETS.add(secret)


def redact(text: str) -> str:
    """Replace every registered secret in ``text``."""
    for secret in _SECRETS:
        text = text.replace(secret, REDACTED)
    return text


class RedactingFilter(logging.Filter):
    """Scrubs registered secrets from every record that passes through a handler.

    Installed on the root logger's handlers (where the SDK's console handler
    and Meltano's logging config put theirs), so that records from libraries
    (urllib3, the SDK) are scrubbed too, at every level.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Render the record once with the secrets replaced; never drop it."""
        if not _SECRETS:
            return True
        message = record.getMessage()
        scrubbed = redact(message)
        if scrubbed != message or record.args:
            record.msg = scrubbed
            record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            rendered = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(rendered)
        return True


def install_redaction() -> None:
    """Put one `RedactingFilter` on each handler of the root logger."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
