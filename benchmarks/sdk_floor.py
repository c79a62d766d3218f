"""What the Singer SDK's record loop costs by itself, per record, on this machine.

Runs a stream of the tap on records made in memory (the fake API's rows: no
HTTP, no parsing), with `post_process` doing nothing and a writer that writes
nothing: what is left is the SDK's loop (selection, state, counters, record
messages), the floor under the tap's RECORD mode that no public hook removes.
Also prints the loop with the tap's own `post_process` and with its writer
writing to /dev/null, so each part's cost shows.

    .venv/bin/python benchmarks/sdk_floor.py
    .venv/bin/python benchmarks/sdk_floor.py --json   # floors only, for run.py
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import typing as t
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tap_contactship.output import BufferedSingerWriter
from tap_contactship.streams import CallsStream, PhoneNumbersStream
from tap_contactship.tap import TapContactship
from tests.catalogs import catalog
from tests.fake_contactship import FakeContactship, make_call, make_phone_number

#: The shapes the benchmark's RECORD cases read: the stream (and its name,
#: which the SDK declares per instance), its rows, and transcript turns.
SHAPES = {
    "phone_numbers": (PhoneNumbersStream, "phone_numbers", make_phone_number, 0),
    "calls": (CallsStream, "calls", make_call, 0),
    "calls with transcripts": (CallsStream, "calls", make_call, 40),
}


class NullWriter(BufferedSingerWriter):
    def write_message(self, message: t.Any) -> None:
        pass


def per_record(
    shape: str, rows: int, *, ours: bool, writer: type[BufferedSingerWriter]
) -> float:
    """Microseconds per record of one sync of `rows` in-memory rows."""
    base, name, make, turns = SHAPES[shape]
    fake = FakeContactship()
    fake.transcript_turns = turns
    made = [make(n) for n in range(rows)]
    if turns:
        made = [fake.with_transcript(row) for row in made]

    class InMemory(base):  # type: ignore[valid-type,misc]
        def request_records(self, context: t.Any) -> t.Iterable[dict[str, t.Any]]:  # noqa: ARG002
            for row in made:
                yield dict(row)

        def post_process(self, row: t.Any, context: t.Any = None) -> t.Any:
            return super().post_process(row, context) if ours else row

    class Tap(TapContactship):
        message_writer_class = writer

        def discover_streams(self) -> list[t.Any]:
            return [InMemory(tap=self)]

    tap = Tap(config={"api_key": "floor-key"}, catalog=catalog([name]))
    start = time.perf_counter()
    tap.sync_all()
    tap.message_writer.flush()  # type: ignore[attr-defined]
    return (time.perf_counter() - start) / rows * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--json", action="store_true", help="floors only, as JSON")
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    with Path("/dev/null").open("w") as devnull:
        sys.stdout = devnull
        for shape in SHAPES:
            rows = args.rows // 5 if "transcripts" in shape else args.rows
            results[shape] = {
                "floor": per_record(shape, rows, ours=False, writer=NullWriter)
            }
            if not args.json:  # run.py needs the floors only
                results[shape]["post_process"] = per_record(
                    shape, rows, ours=True, writer=NullWriter
                )
                results[shape]["writer"] = per_record(
                    shape, rows, ours=True, writer=BufferedSingerWriter
                )
        sys.stdout = sys.__stdout__
    if args.json:
        print(json.dumps({shape: r["floor"] for shape, r in results.items()}))
        return
    print("us/record        | SDK loop alone | + post_process | + the tap's writer")
    for shape, r in results.items():
        print(
            f"{shape:<22} | {r['floor']:14.2f} | {r['post_process']:14.2f} "
            f"| {r['writer']:18.2f}"
        )


if __name__ == "__main__":
    main()
