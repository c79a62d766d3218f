"""The ids a paginator emitted most recently: memory flat however long the list."""

from __future__ import annotations

import typing as t
from collections import deque


class RecentIds:
    """The ids added most recently, up to ``capacity``; older ones are forgotten."""

    def __init__(self, capacity: int) -> None:
        """Start empty."""
        self.capacity = capacity
        self.forgotten = False
        self._ids: set[t.Any] = set()
        self._order: deque[t.Any] = deque()

    def __len__(self) -> int:
        """How many ids are remembered."""
        return len(self._ids)

    def __contains__(self, row_id: object) -> bool:
        """Whether ``row_id`` is among the ids remembered."""
        return row_id in self._ids

    def add(self, row_id: t.Any) -> None:
        """Remember ``row_id``, forgetting the oldest beyond the capacity."""
        self._ids.add(row_id)
        self._order.append(row_id)
        if len(self._order) > self.capacity:
            self._ids.discard(self._order.popleft())
            self.forgotten = True
