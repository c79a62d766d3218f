"""The SDK's standard tap tests, against the project's fake API."""

from __future__ import annotations

import atexit

from singer_sdk.testing import get_tap_test_class

from tap_contactship.tap import TapContactship
from tests.fake_contactship import DEFAULT_KEY, FakeContactship

# The standard suite builds its test class at import time, so the fake API it
# talks to has to be listening by then.
FAKE = FakeContactship(phone_numbers=42)
FAKE.seed(calls=55, agents=3, contacts=25)
FAKE.start()
atexit.register(FAKE.stop)

TestTapContactship = get_tap_test_class(
    tap_class=TapContactship,
    config={
        "api_key": DEFAULT_KEY,
        "api_url": FAKE.url,
        "page_size": 10,
        "include_transcripts": True,
    },
    # The suite reads TAP_CONTACTSHIP_* variables by default: a developer's own
    # key or URL in the shell must not point it elsewhere.
    parse_env_config=False,
)
