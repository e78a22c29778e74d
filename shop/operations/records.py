"""The database's records as one connection sees them, reached from the root: what ``check``
reads and ``copy`` copies.

Following references from the root (as ZODB's ``fsrefs`` and pack do) finds every live
record once and names the record that refers to a missing one; records nothing refers to
any more are garbage that the next pack removes, and are neither checked nor copied.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from ZODB.blob import is_blob_record
from ZODB.POSException import POSKeyError
from ZODB.serialize import referencesf
from ZODB.utils import oid_repr, z64


@dataclass(frozen=True)
class Record:
    """One object's current record; ``data`` is None when it is missing (a dangling reference
    from ``referrer``)."""

    oid: bytes
    referrer: bytes | None
    data: bytes | None
    serial: bytes | None

    @property
    def is_blob(self) -> bool:
        return self.data is not None and is_blob_record(self.data)

    @property
    def name(self) -> str:
        return f"object {oid_repr(self.oid)}"


def snapshot(conn):
    """The storage as the connection sees it: every load returns the record current when its
    transaction began, so a walk is consistent while other processes commit."""
    # ZODB keeps the connection's view of the storage (an MVCC adapter) private: this is the
    # one place that reads it.
    return conn._storage


def reachable(storage) -> Iterator[Record]:
    """Every record reachable from the root (oid 0) of ``storage``, each once, depth first."""
    seen = {z64}
    todo: list[tuple[bytes, bytes | None]] = [(z64, None)]
    while todo:
        oid, referrer = todo.pop()
        try:
            data, serial = storage.load(oid)
        except POSKeyError:
            yield Record(oid, referrer, None, None)
            continue
        yield Record(oid, referrer, data, serial)
        for ref in referencesf(data):
            if ref not in seen:
                seen.add(ref)
                todo.append((ref, oid))


def count(storage) -> int | None:
    """How many objects the storage holds (for a progress bar), if it says."""
    try:
        return len(storage)
    except (TypeError, AttributeError, NotImplementedError):
        return None
