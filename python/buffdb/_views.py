"""Lazy views of the keys, values and items of a database or a transaction.

``db.keys()``, ``db.values()`` and ``db.items()`` return these, as a dict does: they
are ``collections.abc.KeysView`` / ``ValuesView`` / ``ItemsView`` (so set operations
on keys and items work), hold nothing in memory, and answer ``len``, ``in`` and
iteration through the engine (``count``, a point read, the paged scans) each time they
are asked, so they show the mapping as it is then. Given ``prefix``, ``start_after``
or ``limit`` a view covers only the keys the same arguments of ``scan`` give.
"""

from __future__ import annotations

import operator
from collections.abc import ItemsView as _ItemsView
from collections.abc import KeysView as _KeysView
from collections.abc import MappingView
from collections.abc import ValuesView as _ValuesView
from typing import Any, Iterator, Optional, Tuple

__all__ = ["KeysView", "ValuesView", "ItemsView"]

_second = operator.itemgetter(1)


def _key_bytes(key: object) -> Optional[bytes]:
    """The stored form of a key (str as UTF-8), or None for what cannot be a key."""
    if isinstance(key, str):
        return key.encode()
    if isinstance(key, (bytes, bytearray, memoryview)):
        return bytes(key)
    return None


class _Range(MappingView):
    """The keys a view covers: under ``_prefix``, after ``_start_after``, at most
    ``_limit`` of them (the arguments of ``scan``, already checked by the caller)."""

    __slots__ = ("_prefix", "_start_after", "_limit")
    _mapping: Any

    def __init__(self, mapping: Any, prefix: bytes = b"", start_after: Optional[bytes] = None,
                 limit: Optional[int] = None) -> None:
        super().__init__(mapping)
        self._prefix = prefix
        self._start_after = start_after
        self._limit = limit

    def _keys(self) -> Iterator[bytes]:
        return self._mapping._key_iter(self._prefix, self._start_after, self._limit)

    def _scan(self) -> Iterator[Tuple[bytes, bytes]]:
        return self._mapping.scan(self._prefix, self._start_after, self._limit)

    def __len__(self) -> int:
        if self._start_after is None:
            n: int = self._mapping.count(self._prefix)
            return n if self._limit is None else min(n, self._limit)
        return sum(1 for _ in self._keys())

    def _in_range(self, key: bytes) -> bool:
        """Whether `key` is under the prefix and after `start_after` (not yet whether it
        exists, nor whether it is among the first `limit`)."""
        return key.startswith(self._prefix) and (self._start_after is None or key > self._start_after)

    def _covers(self, key: bytes) -> bool:
        """Whether `key` exists and is one of the view's keys."""
        if not self._in_range(key):
            return False
        if self._limit is None:
            return bool(self._mapping.contains(key))
        # Among the first `limit` keys of the range: walk up to it.
        for k in self._keys():
            if k >= key:
                return k == key
        return False

    def __repr__(self) -> str:
        extra = "".join(
            f", {name}={value!r}"
            for name, value in (("prefix", self._prefix), ("start_after", self._start_after), ("limit", self._limit))
            if value not in (b"", None)  # the defaults are left out
        )
        return f"{type(self).__name__}({self._mapping!r}{extra})"


class KeysView(_Range, _KeysView):  # type: ignore[type-arg]
    """A lazy, set-like view of the keys (bytes), in key order."""

    __slots__ = ()

    def __contains__(self, key: object) -> bool:
        k = _key_bytes(key)
        return k is not None and self._covers(k)

    def __iter__(self) -> Iterator[bytes]:
        return self._keys()


class ValuesView(_Range, _ValuesView):  # type: ignore[type-arg]
    """A lazy view of the values (bytes), in key order."""

    __slots__ = ()

    def __iter__(self) -> Iterator[bytes]:
        return map(_second, self._scan())


class ItemsView(_Range, _ItemsView):  # type: ignore[type-arg]
    """A lazy, set-like view of the (key, value) pairs (bytes), in key order."""

    __slots__ = ()

    def __contains__(self, item: object) -> bool:
        if not isinstance(item, tuple) or len(item) != 2:
            return False
        k = _key_bytes(item[0])
        if k is None or not self._in_range(k) or (self._limit is not None and not self._covers(k)):
            return False
        v = self._mapping.get(k)
        return v is not None and v == item[1]

    def __iter__(self) -> Iterator[Tuple[bytes, bytes]]:
        return self._scan()
