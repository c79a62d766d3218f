"""The bare-HTTP ceiling: the least code that writes the same RECORD lines.

No SDK, no checks, no schema: `requests` and `json`. Modes:
  sequential    one page after another
  concurrent    first page for `count`, then 4 pages in flight, written in order
  retry-after   sequential; sleeps what a 429's Retry-After says, retries 500s
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any

import requests


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--mode", choices=["sequential", "concurrent", "retry-after"])
    parser.add_argument("--page-size", type=int, default=100)
    args = parser.parse_args()

    session = requests.Session()
    endpoint = args.url + "/v1/phone-numbers"
    headers = {"x-api-key": args.key}
    write = sys.stdout.write

    def fetch(offset: int) -> dict[str, Any]:
        while True:
            params = {"limit": args.page_size, "offset": offset, "order": "asc"}
            response = session.get(endpoint, params=params, headers=headers, timeout=60)
            if response.status_code == 429 and args.mode == "retry-after":
                time.sleep(float(response.headers.get("Retry-After", "1")))
                continue
            if response.status_code >= 500 and args.mode == "retry-after":
                continue
            response.raise_for_status()
            body: dict[str, Any] = response.json()
            return body

    def emit(rows: list[dict[str, Any]]) -> None:
        for row in rows:
            message = {
                "type": "RECORD",
                "stream": "phone_numbers",
                "record": row,
                "time_extracted": datetime.now(timezone.utc).isoformat(),
            }
            write(json.dumps(message) + "\n")

    first = fetch(0)
    emit(first["data"])
    offset, count = len(first["data"]), first["count"]
    if args.mode == "concurrent":
        offsets = range(offset, count, args.page_size)
        with ThreadPoolExecutor(max_workers=4) as pool:
            for page in pool.map(fetch, offsets):
                emit(page["data"])
        return
    while offset < count:
        page = fetch(offset)
        if not page["data"]:
            break
        emit(page["data"])
        offset += len(page["data"])


if __name__ == "__main__":
    main()
