"""A cache for what a class repeats: the template's cells, the common solutions.

In a class, most cells and functions either come back again and again (the template's, the
common solutions) or never (a student's own). A value is kept only once its key comes back a
second time, so the one-offs never push the repeats out, nor take memory.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

Value = TypeVar("Value")

_SIGHTINGS = 4096  # keys seen once that are remembered (their hashes), before forgetting them all


class RepeatCache(Generic[Value]):
    """The latest `size` values whose keys were seen at least twice."""

    def __init__(self, size: int) -> None:
        self._values: OrderedDict[Hashable, Value] = OrderedDict()
        self._size = size
        self._seen: set[int] = set()  # hashes of keys seen once (a collision only keeps a value early)

    def get(self, key: Hashable) -> Value | None:
        value = self._values.get(key)
        if value is not None:
            self._values.move_to_end(key)
        return value

    def put(self, key: Hashable, value: Value) -> bool:
        """Keep `value` if `key` was seen before, else remember the sighting; returns whether it was kept."""
        sighting = hash(key)
        if sighting not in self._seen:
            if len(self._seen) >= _SIGHTINGS:
                self._seen.clear()
            self._seen.add(sighting)
            return False
        self._values[key] = value
        if len(self._values) > self._size:
            self._values.popitem(last=False)
        return True

    def __len__(self) -> int:
        return len(self._values)
