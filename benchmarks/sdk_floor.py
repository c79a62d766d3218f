"""What the Singer SDK's record loop costs by itself, per record, on this machine.

Runs the tap's `phone_numbers` stream on records made in memory (no HTTP, no
parsing), once with the tap's writer writing to /dev/null and once with a
writer that writes nothing, and prints microseconds per record. This is the
floor under the tap's speed that no public SDK hook removes.

    .venv/bin/python benchmarks/sdk_floor.py
"""

from __future__ import annotations

import sys
import time
import typing as t
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tap_contactship.output import BufferedSingerWriter
from tap_contactship.streams import PhoneNumbersStream
from tap_contactship.tap import TapContactship
from tests.catalogs import catalog

RECORDS = 200_000
ROW = {
    "id": "pn-0",
    "phone_number": "+12025550100",
    "type": "outbound",
    "organization_id": "org-1",
    "created_at": "2026-01-01T00:00:00Z",
}


class InMemoryNumbers(PhoneNumbersStream):
    def request_records(self, context: t.Any) -> t.Iterable[dict[str, t.Any]]:  # noqa: ARG002
        for n in range(RECORDS):
            yield dict(ROW, id=f"pn-{n}")


class NullWriter(BufferedSingerWriter):
    def write_message(self, message: t.Any) -> None:
        pass


def per_record(writer: type[BufferedSingerWriter]) -> float:
    class Tap(TapContactship):
        message_writer_class = writer

        def discover_streams(self) -> list[t.Any]:
            return [InMemoryNumbers(tap=self)]

    tap = Tap(config={"api_key": "floor-key"}, catalog=catalog(["phone_numbers"]))
    start = time.perf_counter()
    tap.sync_all()
    tap.message_writer.flush()  # type: ignore[attr-defined]
    return (time.perf_counter() - start) / RECORDS * 1e6


def main() -> None:
    with Path("/dev/null").open("w") as devnull:
        sys.stdout = devnull
        loop_only = per_record(NullWriter)
        with_writer = per_record(BufferedSingerWriter)
        sys.stdout = sys.__stdout__
    print(
        f"SDK record loop (post_process included, nothing written): {loop_only:.2f} us/record"
    )
    print(
        f"... with the tap's writer:                               {with_writer:.2f} us/record"
    )


if __name__ == "__main__":
    main()
