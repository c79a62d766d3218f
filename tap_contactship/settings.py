"""Settings validation: pure functions from a config (and a schema) to problems.

Messages name the setting and never quote its value, so a key typed into the
wrong field does not end up in a log.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import typing as t
from urllib.parse import urlparse

from jsonschema import Draft7Validator

from tap_contactship import __version__
from tap_contactship.timestamps import TimestampError, parse_timestamp

if t.TYPE_CHECKING:
    from collections.abc import Mapping

    from jsonschema import ValidationError

DEFAULT_API_URL = "https://api.contactship.ai"
DEFAULT_USER_AGENT = f"tap-contactship/{__version__}"
ENV_PREFIX = "TAP_CONTACTSHIP_"


def config_problems(
    config: Mapping[str, t.Any],
    schema: dict[str, t.Any],
    *,
    source: str = "file",
) -> list[str]:
    """Describe every invalid setting in one phrase each.

    Args:
        config: The settings as the tap received them.
        schema: The tap's settings schema.
        source: ``file`` (a --config file), ``env`` (--config=ENV) or ``none``
            (no --config at all), for hints on where a missing setting goes.
    """
    problems = [
        _describe(error, config, schema, source)
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
            parse_timestamp(start_date)
        except TimestampError:
            problems.append("`start_date` must be an ISO 8601 date-time")
    return problems


def _describe(
    error: ValidationError,
    config: Mapping[str, t.Any],
    schema: dict[str, t.Any],
    source: str,
) -> str:
    if error.validator == "required":
        missing = str(error.message).split("'")[1]
        return (
            f"`{missing}` is required: {_where_to_set(missing, config, schema, source)}"
        )
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


def _where_to_set(
    name: str, config: Mapping[str, t.Any], schema: dict[str, t.Any], source: str
) -> str:
    env = ENV_PREFIX + name.upper()
    near = [
        unknown for unknown, guess in unknown_settings(config, schema) if guess == name
    ]
    if near:
        return f"the config has `{near[0]}`; did you mean `{name}`?"
    if source == "env":
        return f"{env} is not set"
    where = (
        "no --config was given: pass --config config.json, or --config=ENV with "
        f"{env} set"
        if source == "none"
        else f"add it to the --config file ({env} is only read with --config=ENV)"
    )
    return f"{where}; under Meltano: meltano config set tap-contactship {name} ..."


def unknown_settings(
    config: Mapping[str, t.Any], schema: dict[str, t.Any]
) -> list[tuple[str, str | None]]:
    """Top-level settings the schema does not declare, each with a likely meant name."""
    known = list(schema.get("properties", {}))
    folded = {_fold(name): name for name in known}
    found = []
    for name in config:
        if name in known or name.startswith("_"):
            continue
        guess = folded.get(_fold(name)) or next(
            iter(difflib.get_close_matches(name, known, n=1, cutoff=0.75)), None
        )
        found.append((name, guess))
    return found


def _fold(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "")


def env_problems(environ: Mapping[str, str], schema: dict[str, t.Any]) -> list[str]:
    """Environment values that the SDK could not convert to their setting's type."""
    problems = []
    for name, spec in schema.get("properties", {}).items():
        variable = ENV_PREFIX + name.upper()
        value = environ.get(variable)
        if value is None:
            continue
        types = spec.get("type", [])
        types = [types] if isinstance(types, str) else types
        try:
            if "integer" in types:
                int(value)
            elif "number" in types:
                float(value)
            elif "array" in types or "object" in types:
                json.loads(value)
        except ValueError:
            kind = next(
                (k for k in ("integer", "number", "array", "object") if k in types),
                "value",
            )
            problems.append(f"{variable} must be a valid {kind}")
    return problems


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
