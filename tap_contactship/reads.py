"""Which full-table lists a run read whole, so the warehouse can retire the rest.

Every row of a full-table stream carries `read_version`, the run's version
(the number the SDK puts on its RECORD messages and ACTIVATE_VERSION: the
tap's start, in seconds). A list read whole adds one row to `whole_reads`
(stream, version, finished_at, row_count), which the tap syncs after every
other stream, so a run that fails anywhere writes none. The dbt staging models
keep a stream's rows whose `read_version` is at least that of its newest
complete read whose rows all reached the warehouse: a deletion at the source
reaches the marts on any loader, whether it honours ACTIVATE_VERSION or not,
in RECORD and in BATCH mode. The raw tables keep every row (a soft delete).
"""

from __future__ import annotations

import sys
import typing as t
from datetime import datetime, timezone

from singer_sdk import Stream
from singer_sdk import typing as th

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

#: The column every full-table row carries.
READ_VERSION = "read_version"

#: Declared by every full-table stream's schema.
READ_VERSION_PROPERTY = th.Property(
    READ_VERSION,
    th.IntegerType,
    required=True,
    description=(
        "The run that read this row (seconds since the epoch at the tap's "
        "start; the ACTIVATE_VERSION number): see the `whole_reads` stream"
    ),
)


def read_version(tap: Tap) -> int:
    """The run's version: what the SDK's `Stream.sync` gives full-table streams."""
    return tap.initialized_at // 1000


class WholeReads:
    """The complete list reads of one run, in the order they ended."""

    def __init__(self) -> None:
        """Start a run with no list read."""
        self.rows: list[dict[str, t.Any]] = []

    def finished(self, stream: str, version: int, row_count: int) -> None:
        """`stream`'s list was read whole: `row_count` rows of `version`."""
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        self.rows.append(
            {
                "stream": stream,
                "version": version,
                "finished_at": now,
                "row_count": row_count,
            }
        )


class WholeReadsStream(Stream):
    """One row per list read whole in this run.

    The SDK syncs streams in the order of their names (`Tap.load_streams`):
    `whole_reads` sorts after every other, so it reports only lists whose rows
    were all handed over, and nothing at all when any stream fails.

    Always RECORD messages, also with `batch_config`: a few rows, and the
    SDK's own batcher would write them gzipped whatever the setting says.
    Never an ACTIVATE_VERSION: a run with one list cut must not retire the
    previous complete reads of that list.
    """

    name = "whole_reads"
    primary_keys: t.ClassVar[t.Sequence[str]] = ("stream", "version")

    schema = th.PropertiesList(
        th.Property("stream", th.StringType, required=True),
        th.Property(
            "version",
            th.IntegerType,
            required=True,
            description="The `read_version` of that list's rows in this run",
        ),
        th.Property("finished_at", th.DateTimeType, required=True),
        # Not `rows`: a reserved word in BigQuery.
        th.Property(
            "row_count",
            th.IntegerType,
            required=True,
            description="Rows the list held",
        ),
    ).to_dict()

    def __init__(self, tap: Tap, reads: WholeReads) -> None:
        """Report the reads that `reads` collects during the run."""
        super().__init__(tap)
        self.reads = reads

    @property
    @override
    def emit_activate_version_messages(self) -> bool:
        return False

    @override
    def get_batch_config(self, config: t.Mapping[str, t.Any]) -> None:
        return None

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        return list(self.reads.rows)
