"""`batch_config` and stream maps in BATCH mode: checked before any request.

Pure functions from the settings to problems, one phrase each, like settings.py.
"""

from __future__ import annotations

import os
import typing as t
from decimal import Decimal
from pathlib import Path

from fsspec.core import url_to_fs
from singer_sdk.mapper import RemoveRecordTransform

from tap_contactship.batches import local_root

if t.TYPE_CHECKING:
    from collections.abc import Mapping


def batch_problems(batch: t.Any) -> list[str]:
    """What would make BATCH mode fail after its first request, said before it."""
    if not isinstance(batch, dict):
        return ["`batch_config` must be an object"]
    problems = []
    encoding = batch.get("encoding") or {}
    if encoding.get("format") != "jsonl":
        problems.append(
            "`batch_config.encoding.format` must be `jsonl`: this tap writes JSONL "
            "batch files (target-snowflake loads no other)"
        )
    if encoding.get("compression") not in {None, "none", "gzip"}:
        problems.append("`batch_config.encoding.compression` must be `gzip` or `none`")
    size = batch.get("batch_size", 1)
    whole = isinstance(size, (int, Decimal)) and not isinstance(size, bool)
    if not whole or size < 1 or size != int(size):
        problems.append("`batch_config.batch_size` must be a whole number, at least 1")
    storage = batch.get("storage") or {}
    root, prefix = storage.get("root"), storage.get("prefix") or ""
    if not isinstance(root, str) or not root:
        problems.append(
            "`batch_config.storage.root` must be set: a folder, or an fsspec URL "
            "such as s3://bucket/path (unset, the SDK picks a temporary folder that "
            "nobody cleans)"
        )
    else:
        problems += _root_problems(root, str(prefix), storage.get("params") or {})
    return problems


def batch_map_problems(stream_maps: Mapping[str, list[t.Any]]) -> list[str]:
    """Streams that stream maps copy into several: BATCH mode cannot write them.

    The SDK writes one BATCH message per map of a stream, all naming the files
    `get_batches` wrote, so every copy would load the same rows.
    """
    problems = []
    for stream, maps in stream_maps.items():
        aliases = [
            m.stream_alias for m in maps if not isinstance(m, RemoveRecordTransform)
        ]
        if len(aliases) > 1:
            problems.append(
                f"`stream_maps` make {len(aliases)} streams of `{stream}` "
                f"({', '.join(aliases)}), which BATCH mode cannot write (each BATCH "
                "message would name the same files): map it once, or leave out "
                "`batch_config`"
            )
    return problems


def _root_problems(root: str, prefix: str, params: dict[str, t.Any]) -> list[str]:
    if "?" in root + prefix:
        # `StorageTarget.from_url` drops a URL's query: the file never opens.
        return [
            "`batch_config.storage.root` and `prefix` must not contain `?`: the "
            "SDK's batch reader cuts a file URL there, so loaders could not open "
            "the files"
        ]
    folder = local_root(root)
    if folder is None:
        try:
            url_to_fs(root, **params)
        except (ImportError, ValueError, TypeError) as exc:
            reason = str(exc).split("\n")[0][:200]
            return [f"`batch_config.storage.root`: no fsspec filesystem: {reason}"]
        return []
    existing = Path(folder)
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return [f"`batch_config.storage.root`: {existing} is a file, not a folder"]
    if not os.access(existing, os.W_OK | os.X_OK):
        return [f"`batch_config.storage.root`: cannot write in {existing}"]
    return []
