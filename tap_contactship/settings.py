"""Settings validation: pure functions from a config (and a schema) to problems.

Messages name the setting and never quote its value, so a key typed into the
wrong field does not end up in a log.
"""

from __future__ import annotations

import contextlib
import difflib
import ipaddress
import json
import os
import typing as t
from pathlib import Path
from urllib.parse import urlparse

from singer_sdk.typing import DEFAULT_JSONSCHEMA_VALIDATOR

from tap_contactship import __version__
from tap_contactship.batch_settings import batch_problems
from tap_contactship.timestamps import TimestampError, parse_timestamp

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from jsonschema import ValidationError

DEFAULT_API_URL = "https://api.contactship.ai"
DEFAULT_USER_AGENT = f"tap-contactship/{__version__}"
ENV_PREFIX = "TAP_CONTACTSHIP_"


def describe_sdk_errors(
    errors: Iterable[ValidationError],
    config: Mapping[str, t.Any],
    schema: dict[str, t.Any],
    *,
    source: str = "file",
) -> list[str]:
    """The validator's errors in one phrase each, without their values.

    jsonschema's messages quote the offending value, which for a mistyped
    `api_key` is the secret itself; the phrase is built from the error's
    structured fields instead (`validator`, `path`, `validator_value`,
    `instance`), naming the setting and the rule.

    Args:
        errors: What the settings schema's validator found.
        config: The settings as given (for a missing setting's near misses).
        schema: The tap's settings schema.
        source: ``file`` (a --config file), ``env`` (--config=ENV) or ``none``
            (no --config at all), for hints on where a missing setting goes.
    """
    problems = []
    missing_at: dict[str, list[str]] = {}
    for error in errors:
        name = ".".join(map(str, error.path)) or "config"
        if error.validator == "required":
            # One error per missing property, in the order `required` lists them.
            if name not in missing_at:
                present = error.instance if isinstance(error.instance, dict) else {}
                required = t.cast("list[str]", error.validator_value)
                missing_at[name] = [n for n in required if n not in present]
            missing = missing_at[name].pop(0)
            where = _where_to_set(missing, config, schema, source)
            problems.append(f"`{missing}` is required: {where}")
            continue
        phrase = _phrase(str(error.validator), error.validator_value)
        problems.append(f"`{name}` {phrase}")
    return sorted(problems)


def validation_errors(
    config: Mapping[str, t.Any], schema: dict[str, t.Any]
) -> list[ValidationError]:
    """What the SDK's validator finds in `config`, as jsonschema's error objects.

    The SDK keeps only their messages (`ConfigValidationError.errors`), which
    quote the values; this asks the same validator again for the fields.
    """
    return list(DEFAULT_JSONSCHEMA_VALIDATOR(schema).iter_errors(dict(config)))


def _phrase(keyword: str, rule: t.Any) -> str:
    listed = " or ".join(map(str, rule)) if isinstance(rule, list) else str(rule)
    phrases = {
        "type": f"must be of type {listed}",
        "enum": "must be one of: " + listed.replace(" or ", ", "),
        "minimum": f"must be at least {rule}",
        "maximum": f"must be at most {rule}",
        "exclusiveMinimum": f"must be greater than {rule}",
        "minLength": "must not be empty",
        "minItems": "must not be empty",
    }
    return phrases.get(keyword, "is invalid")


def given_settings(config: t.Any, *, parse_env_config: bool) -> dict[str, t.Any]:
    """The settings as the SDK was given them: a dict or JSON files, and the env."""
    found: dict[str, t.Any] = {}
    paths = [] if config is None or isinstance(config, dict) else config
    for path in [paths] if isinstance(paths, (str, Path)) else paths:
        with contextlib.suppress(OSError, ValueError):
            found.update(json.loads(Path(path).read_text(encoding="utf-8")))
    found.update(config if isinstance(config, dict) else {})
    if parse_env_config:
        found.update(
            {
                name.removeprefix(ENV_PREFIX).lower(): value
                for name, value in os.environ.items()
                if name.startswith(ENV_PREFIX)
            }
        )
    return found


def extra_problems(config: Mapping[str, t.Any]) -> list[str]:
    """What the schema cannot say: `api_url` safe for the key, `start_date` a date."""
    problems = []
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
    batch = config.get("batch_config")
    if batch is not None:
        problems += batch_problems(batch)
    return problems


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


def unknown_variables(
    environ: Mapping[str, str], schema: dict[str, t.Any]
) -> list[tuple[str, str | None]]:
    """TAP_CONTACTSHIP_* variables that name no setting, each with a likely meant one.

    A name with a double underscore after the prefix is Meltano's, not a
    setting: an inherited plugin's (`TAP_CONTACTSHIP__ACME_API_KEY`) or an
    extra's (`TAP_CONTACTSHIP__SELECT`).
    """
    settings = {
        name.removeprefix(ENV_PREFIX).lower(): name
        for name in environ
        if name.startswith(ENV_PREFIX) and not name.startswith(ENV_PREFIX + "_")
    }
    return [
        (settings[setting], ENV_PREFIX + guess.upper() if guess else None)
        for setting, guess in unknown_settings(settings, schema)
    ]


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
