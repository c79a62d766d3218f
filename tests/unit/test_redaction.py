"""The key never reaches a log line."""

from __future__ import annotations

import logging

from tap_contactship import redaction
from tap_contactship.redaction import REDACTED, RedactingFilter, redact, register_secret

SECRET = "cs_live_unit_test_secret_42"


def test_registered_secrets_are_scrubbed_and_short_ones_ignored():
    register_secret(SECRET)
    register_secret("ab")  # too short to be a key; scrubbing it would mangle logs

    assert redact(f"key={SECRET} ab") == f"key={REDACTED} ab"
    register_secret("other-secret-999")
    assert redact("x other-secret-999 y") == f"x {REDACTED} y"


def test_filter_scrubs_arguments_and_tracebacks():
    register_secret(SECRET)
    record = logging.LogRecord(
        "t", logging.ERROR, __file__, 1, "sent %s", (SECRET,), None
    )
    try:
        raise ValueError(SECRET)
    except ValueError as exc:
        record.exc_info = (type(exc), exc, exc.__traceback__)

    assert RedactingFilter().filter(record) is True
    assert record.getMessage() == f"sent {REDACTED}"
    assert SECRET not in (record.exc_text or "")


def test_filter_is_a_no_op_without_secrets(monkeypatch):
    monkeypatch.setattr(redaction, "_SECRETS", set())
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "n=%d", (3,), None)

    assert RedactingFilter().filter(record) is True
    assert record.args == (3,)


def test_installed_once_per_root_handler():
    handler = logging.StreamHandler()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        redaction.install_redaction()
        redaction.install_redaction()
        assert sum(isinstance(f, RedactingFilter) for f in handler.filters) == 1
    finally:
        root.removeHandler(handler)
