"""A catalog with only some streams selected, for tests and the benchmark."""

from __future__ import annotations

from typing import Any

from tap_contactship.tap import TapContactship


def catalog(selected: list[str]) -> dict[str, Any]:
    """The discovered catalog with only the named streams selected."""
    discovered = TapContactship(
        config={"api_key": "unused-key"}, validate_config=False
    ).catalog_dict
    for entry in discovered["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = entry["tap_stream_id"] in selected
    return dict(discovered)
