"""The one container of the tree: an OOBTree with a Length counter and a single add/remove."""
from __future__ import annotations

import datetime
from typing import Iterator

from BTrees.Length import Length
from BTrees.OOBTree import OOBTree
from persistent import Persistent


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


class Folder(Persistent):
    """A container over an OOBTree with a Length counter; the only way in is ``add``."""

    __name__: str | None = None
    __parent__: Persistent | None = None

    def __init__(self) -> None:
        self._items = OOBTree()
        self._count = Length()

    # The canonical form of a key, where keys have one (names, versions): only it is stored.
    canonical = None

    def check_key(self, key: str, obj) -> str:
        """Validate a key before it is added; subclasses say what a valid key is."""
        if not isinstance(key, str) or not key or key.startswith("+") or "/" in key:
            raise KeyError(f"Invalid name: {key!r}")
        if self.canonical is not None and key != self.canonical(key):
            raise KeyError(f"Key {key!r} is not in canonical form ({self.canonical(key)!r})")
        return key

    def add(self, key: str, obj, *, quiet: bool = False):
        """Add ``obj`` under ``key``, making this folder its parent; ``quiet``: what the
        folder's pages show does not change (no ``changed()``)."""
        key = self.check_key(key, obj)
        if key in self._items:
            raise KeyError(f"{key!r} already exists")
        obj.__name__ = key
        obj.__parent__ = self
        self._items[key] = obj
        self._count.change(1)
        if not quiet:
            self.changed()
        self.moved(obj, 1)
        return obj

    def remove(self, key: str, *, quiet: bool = False):
        """Remove and return the child under ``key`` (``quiet``: as for ``add``)."""
        obj = self._items.pop(key)
        self._count.change(-1)
        if not quiet:
            self.changed()
        self.moved(obj, -1)
        return obj

    def changed(self) -> None:
        """Hook called when the set of children changes."""

    def moved(self, obj, sign: int) -> None:
        """Hook called with a child just added (``sign`` 1) or removed (-1)."""

    def __getitem__(self, key: str):
        """The child for traversal: KeyError when there is none (subclasses may yield
        transient resources here too; ``get`` and ``in`` see only what is stored)."""
        return self._items[key]

    def get(self, key: str, default=None):
        return self._items.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return self._count()

    def __iter__(self) -> Iterator[str]:
        return iter(self._items.keys())

    def keys(self):
        return self._items.keys()

    def values(self):
        return self._items.values()

    def items(self):
        return self._items.items()
