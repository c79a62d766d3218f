"""The organizations Dagster loads: one file, one entry per client."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

ORCHESTRATE = Path(__file__).resolve().parent.parent
#: The project: its `meltano.yml` and `transform/` (dbt).
PROJECT = ORCHESTRATE.parent
#: Where the organizations come from, unless `CONTACTSHIP_ORGANIZATIONS` says.
DEFAULT_FILE = ORCHESTRATE / "organizations.yml"

NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class OrganizationsError(ValueError):
    """The organizations file is missing or malformed; says where."""


@dataclass(frozen=True)
class Organization:
    """One client: its partition, raw schema, and where its key is."""

    name: str
    schema: str
    key_env: str
    api_url: str | None = None


def organizations_file() -> Path:
    """The file in use."""
    return Path(os.environ.get("CONTACTSHIP_ORGANIZATIONS", DEFAULT_FILE))


def load_organizations(path: Path | None = None) -> list[Organization]:
    """Read and check the organizations file.

    Raises:
        OrganizationsError: The file cannot be read, an entry lacks a field, a
            name or schema is not a plain identifier, or one is used twice.
    """
    path = path or organizations_file()
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        msg = f"{path}: cannot read the organizations file ({exc})"
        raise OrganizationsError(msg) from None
    entries = (document or {}).get("organizations") or []
    found: list[Organization] = []
    for number, entry in enumerate(entries, start=1):
        where = f"{path}: organization {number}"
        if not isinstance(entry, dict):
            raise OrganizationsError(f"{where} is not a mapping")
        missing = [k for k in ("name", "schema", "key_env") if not entry.get(k)]
        if missing:
            raise OrganizationsError(f"{where} lacks {', '.join(missing)}")
        unknown = set(entry) - {"name", "schema", "key_env", "api_url"}
        if unknown:
            raise OrganizationsError(f"{where} has unknown fields {sorted(unknown)}")
        for field in ("name", "schema"):
            if not NAME.match(str(entry[field])):
                msg = (
                    f"{where}: {field} {entry[field]!r} must be lower-case "
                    "letters, digits and _"
                )
                raise OrganizationsError(msg)
        found.append(
            Organization(
                name=str(entry["name"]),
                schema=str(entry["schema"]),
                key_env=str(entry["key_env"]),
                api_url=entry.get("api_url"),
            )
        )
    for field in ("name", "schema"):
        values = [getattr(o, field) for o in found]
        twice = sorted({v for v in values if values.count(v) > 1})
        if twice:
            raise OrganizationsError(f"{path}: {field} used twice: {', '.join(twice)}")
    if not found:
        raise OrganizationsError(f"{path}: no organizations")
    return found
