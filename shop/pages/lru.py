"""A least-recently-used store bounded by the bytes its values hold, shared by threads."""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable, Generic, Hashable, TypeVar

V = TypeVar("V")


class BoundedLRU(Generic[V]):
    """Values by key; once their ``size()`` adds up to more than ``max_bytes``, the least
    recently used go first. A value larger than ``max_bytes`` is not kept at all."""

    def __init__(self, max_bytes: int, size: Callable[[V], int]) -> None:
        self.max_bytes = max_bytes
        self._size = size
        self._values: OrderedDict[Hashable, V] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            value = self._values.get(key)
            if value is not None:
                self._values.move_to_end(key)
            return value

    def put(self, key: Hashable, value: V) -> None:
        size = self._size(value)
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._values.pop(key, None)
            if old is not None:
                self._bytes -= self._size(old)
            self._values[key] = value
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, dropped = self._values.popitem(last=False)
                self._bytes -= self._size(dropped)

    def keys(self) -> list[Hashable]:
        with self._lock:
            return list(self._values)

    @property
    def size(self) -> int:
        """Bytes of the values kept."""
        return self._bytes
