"""Values replaced by their shapes, for a report a user can paste anywhere.

A diagnosis must show what the API sends without showing anyone's data: a
phone number becomes `e164`, an email `email`, an id `pn-uuid`, a timestamp
its style (`.fffZ`). Every shape comes from a small closed vocabulary built
from the value's form, never from its characters, so nothing personal can
pass through; ids that a report must compare are hashed with a salt drawn per
run.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import typing as t

from tap_contactship.timestamps import TimestampError, parse_timestamp

_TIMESTAMP = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?(?P<fraction>\.\d+)?"
    r"(?P<zone>Z|[+-]\d{2}:?\d{2})?$"
)
_HEX_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_UUID_LIKE = re.compile(r"[0-9a-z]{8}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{12}")
#: A prefix such as `pn-` or `agent-`; longer ones might be a name.
_ID_PREFIX = re.compile(r"^(pn|org|agent|call|campaign|voice|contact|c)[-_]")
_E164 = re.compile(r"^\+\d{7,15}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_URL = re.compile(r"^https?://", re.IGNORECASE)
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_FORMS = (
    (_E164, "e164"),
    (_EMAIL, "email"),
    (_URL, "url"),
    (_NUMBER, "numeric string"),
)
_SCALARS: tuple[tuple[type, str], ...] = (
    (bool, "boolean"),
    (int, "integer"),
    (float, "number"),
)
#: Offsets are not personal and tell a zone apart; anything else is dropped.
_OFFSET = re.compile(r"^[+-]\d{2}:?\d{2}$")
#: How deep nested objects are described.
MAX_DEPTH = 3


def timestamp_style(value: str) -> str:
    """How a timestamp is written: `Z`, `.fffZ`, `.ffffff+00:00`, `+02:00`, `naive`.

    `not ISO 8601` for a value the tap cannot read (it fails on it).
    """
    match = _TIMESTAMP.match(value.strip())
    try:
        parse_timestamp(value)
    except TimestampError:
        return "not ISO 8601"
    if match is None:
        return "other ISO 8601"
    fraction = match.group("fraction") or ""
    zone = match.group("zone")
    digits = "." + "f" * (len(fraction) - 1) if fraction else ""
    if zone is None:
        return digits + "naive" if digits else "naive"
    zone = zone if zone == "Z" or _OFFSET.match(zone) else "offset"
    return digits + zone


def string_shape(value: str) -> str:
    """The form of a string, from a closed vocabulary."""
    text = value.strip()
    if not text:
        return "empty string"
    if _TIMESTAMP.match(text):
        return "timestamp " + timestamp_style(text)
    form = next((name for pattern, name in _FORMS if pattern.match(text)), None)
    return form or _id_or_text(text)


def _id_or_text(text: str) -> str:
    prefix_match = _ID_PREFIX.match(text)
    prefix = prefix_match.group(0) if prefix_match else ""
    body = text[len(prefix) :].lower()
    if _HEX_UUID.fullmatch(body):
        return prefix + "uuid"
    if _UUID_LIKE.fullmatch(body):
        return prefix + "uuid-like (not hex)"
    return "text (multi-line)" if "\n" in text else "string"


def shape(value: t.Any, depth: int = 0) -> t.Any:
    """A JSON value's shape: objects keep their keys, lists one merged item."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return string_shape(value)
    for kind, name in _SCALARS:  # bool first: it is an int
        if isinstance(value, kind):
            return name
    if depth >= MAX_DEPTH:
        return "object" if isinstance(value, dict) else "array"
    if isinstance(value, dict):
        return {key_shape(key): shape(item, depth + 1) for key, item in value.items()}
    items = sorted({_flat(shape(item, depth + 1)) for item in value})
    return {"array of": items} if items else "empty array"


def key_shape(key: t.Any) -> str:
    """An object key as is, unless it looks like data (an object keyed by email)."""
    text = str(key)[:40]
    form = string_shape(text)
    return text if form in {"string", "empty string"} else f"<{form}>"


def _flat(value: t.Any) -> str:
    if isinstance(value, str):
        return value
    if "array of" in value:
        return "array of " + " | ".join(value["array of"])
    return "object {" + ", ".join(f"{k}: {_flat(v)}" for k, v in value.items()) + "}"


def field_shapes(rows: t.Iterable[dict[str, t.Any]]) -> dict[str, list[str]]:
    """Every top-level field and the shapes it took across `rows`."""
    seen: dict[str, set[str]] = {}
    for row in rows:
        for key, value in row.items():
            seen.setdefault(key_shape(key), set()).add(_flat(shape(value)))
    return {key: sorted(shapes) for key, shapes in sorted(seen.items())}


class Hasher:
    """Ids as short salted hashes: comparable within one report, never reversible.

    The salt is drawn per run: an unsalted hash of an id built from a phone
    number could be found by trying every number.
    """

    def __init__(self, salt: bytes | None = None) -> None:
        """Hash with `salt` (tests) or a fresh random one."""
        self.salt = salt if salt is not None else secrets.token_bytes(16)

    def __call__(self, value: t.Any) -> str:
        """The hash of `value`'s text, 10 hex digits."""
        digest = hashlib.sha256(self.salt + str(value).encode()).hexdigest()
        return "h:" + digest[:10]
