"""Which fields a record keeps: declared in the catalog's schema, and selected.

This is what the SDK's root-level type conformance and its deselection pass do
to a record parsed from JSON, done once per record in `post_process`, and the
same for RECORD messages and batch files.
"""

from __future__ import annotations

import typing as t

from tap_contactship.reads import READ_VERSION
from tap_contactship.responses import api_timestamp

if t.TYPE_CHECKING:
    import logging

    from singer_sdk.singerlib import SelectionMask


class Fields:
    """The fields of one stream's records, from its schema and selection mask."""

    def __init__(
        self,
        stream: str,
        schema: dict[str, t.Any],
        mask: SelectionMask,
        logger: logging.Logger,
        canonical: t.Collection[str] = (),
    ) -> None:
        """Read the top-level properties and which of them are selected.

        `canonical`: `date-time` fields the stream has rewritten already.
        """
        properties: dict[str, t.Any] = schema.get("properties", {})
        self.stream = stream
        self.logger = logger
        self.declared = frozenset(properties)
        #: Declared and selected: a record with only these keys passes as is.
        self.kept = frozenset(n for n in properties if mask[("properties", n)])
        #: A schema with `additionalProperties` keeps what it does not declare.
        self.open = bool(schema.get("additionalProperties"))
        #: The fields typed `date-time`, rewritten in the canonical form.
        self.timestamps = tuple(
            n
            for n, s in properties.items()
            if n in self.kept and n not in canonical and s.get("format") == "date-time"
        )
        self.warned: set[str] = set()

    def shape(self, row: dict[str, t.Any], version: int | None) -> dict[str, t.Any]:
        """`row` as a record: kept fields, timestamps in one form, its version.

        The SDK's conformance is off (`TYPE_CONFORMANCE_LEVEL`): the fields are
        checked here, in the pass that rewrites timestamps, with a set
        comparison in C for the usual clean row.
        """
        if not row.keys() <= self.kept:
            row = self.only_kept(row)
        for name in self.timestamps:
            value = row.get(name)
            if isinstance(value, str):  # one form for every instant
                row[name] = api_timestamp(value, f"{self.stream}.{name}", row.get("id"))
        if version is not None:
            row[READ_VERSION] = version
        return row

    def only_kept(self, row: dict[str, t.Any]) -> dict[str, t.Any]:
        """`row` without its deselected fields, and undeclared ones unless allowed.

        Undeclared fields are named in one warning per new name, as the SDK's
        conformance names them.
        """
        declared, kept = self.declared, self.kept
        undeclared = [name for name in row if name not in declared]
        new = [name for name in undeclared if name not in self.warned]
        if new and not self.open:
            self.warned.update(new)
            self.logger.warning(
                "Properties %s were present in the '%s' stream but not found in "
                "catalog schema. Ignoring.",
                tuple(new),
                self.stream,
            )
        return {
            name: value
            for name, value in row.items()
            if name in kept or (self.open and name not in declared)
        }
