"""Print the tap's one error line from Meltano's output (read on stdin).

Meltano passes the tap's log lines through as JSON; the line a user needs is the
`tap-contactship: error: ...` message among them. Without one, the last lines.
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    """Print the error line, or the last five lines when there is none."""
    lines = sys.stdin.read().splitlines()
    for line in lines:
        try:
            message = json.loads(line).get("message", "")
        except (ValueError, AttributeError):
            message = line
        if isinstance(message, str) and message.startswith("tap-contactship: error:"):
            print(message)
            return
    print("\n".join(lines[-5:]))


if __name__ == "__main__":
    main()
