"""A small thread-safe TTL cache for registry answers, bounded in size (least recently used out)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TTLCache(Generic[K, V]):
    """Entries live ``ttl`` seconds by ``clock`` (a monotonic clock); at most ``maxsize`` of them.

    A ``ttl`` of 0 (or a ``maxsize`` of 0) disables the cache. ``hits`` and ``misses`` count
    lookups, for metrics.
    """

    def __init__(self, *, ttl: float, maxsize: int, clock: Callable[[], float]) -> None:
        self.ttl = ttl
        self.maxsize = maxsize
        self._clock = clock
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        """Whether anything is ever kept."""
        return self.ttl > 0 and self.maxsize > 0

    def get(self, key: K) -> V | None:
        """The live value for *key*, or ``None`` (expired entries are dropped on the way)."""
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] <= now:
                if entry is not None:
                    del self._entries[key]
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[1]

    def put(self, key: K, value: V) -> None:
        """Keep *value* for ``ttl`` seconds, evicting the least recently used entry when full."""
        if not self.enabled:
            return
        expires = self._clock() + self.ttl
        with self._lock:
            self._entries[key] = (expires, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)

    def discard_where(self, predicate: Callable[[K], bool]) -> int:
        """Drop every entry whose key matches *predicate*; return how many went."""
        with self._lock:
            doomed = [k for k in self._entries if predicate(k)]
            for key in doomed:
                del self._entries[key]
            return len(doomed)

    def clear(self) -> None:
        """Drop everything."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
