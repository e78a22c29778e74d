"""Storing mirrored bytes: a verified file handed to the tree by the process's writer.

Mirrored files arrive outside a request, so they are written to a temporary file on the blob
filesystem first and consumed by a blob (a rename) in the writer's next transaction (with
whatever else it has to write), which retries conflicts; if another process stored the same
file first, its copy wins.
"""
from __future__ import annotations

import contextlib
import logging
import os
import threading
from dataclasses import dataclass
from typing import Callable, Iterator

from ZODB.blob import Blob

from shop.mirror.writer import Writer, WriterBusy
from shop.model import mirrored
from shop.model.tree import ReleaseFile

log = logging.getLogger(__name__)

# How many connections of their own the mirror's threads (and a request looking for stored
# metadata) hold at once; a streamed download has a thread of its own, so without a bound a
# burst of downloads would open as many. shop.storage sizes the pools for it.
STORING_AT_ONCE = 4


def storing_slots() -> threading.BoundedSemaphore:
    """The slots of one process's mirror: one taken for each connection opened outside a request."""
    return threading.BoundedSemaphore(STORING_AT_ONCE)


@contextlib.contextmanager
def slot_or_not(slots: threading.BoundedSemaphore, patience: float = 5.0):
    """A slot for a request thread's extra connection, or none after ``patience`` seconds: a
    client is not kept waiting behind stores that take long (the pool warns, nothing worse)."""
    taken = slots.acquire(timeout=patience)
    try:
        yield
    finally:
        if taken:
            slots.release()


class DownloadFailed(Exception):
    """The upstream download failed or did not match upstream's hash; the message says how."""


@dataclass(frozen=True)
class FileKey:
    """Where a mirrored file lives in the tree: enough to find it from any connection."""

    repository: str
    project: str
    release: str
    filename: str

    @classmethod
    def of(cls, file: ReleaseFile) -> "FileKey":
        release = file.__parent__
        package = release.__parent__
        return cls(package.__parent__.__name__, package.__name__, release.__name__, file.filename)

    def record(self, root) -> ReleaseFile | None:
        """The file's record, made from the project's listing if it has none yet (its bytes
        are about to be stored); None once the file (or what holds it) was removed."""
        found = root.repositories.get(self.repository)
        package = found.get(self.project) if found is not None else None
        return mirrored.record_for(package, self.release, self.filename) if package is not None else None

    def locate(self, root) -> ReleaseFile | None:
        """The stored file, or None once it (or what holds it) was removed."""
        # get(), not []: traversal's [] also yields resources that are not stored.
        found = root.repositories
        for key in (self.repository, self.project, self.release, self.filename):
            found = found.get(key)
            if found is None:
                return None
        return found


def store_blob(writer: Writer, key: FileKey, source: str,
               attach: Callable[[ReleaseFile, str], None],
               current: Callable[[ReleaseFile], Blob | None],
               committed: Callable[[ReleaseFile], None] | None = None) -> str:
    """Attach the file at ``source`` to the tree through the process's writer (a group
    commit); return the committed blob's file name. ``committed(file)`` runs once it is
    committed, in the writer's connection.

    ``source`` itself is kept until the end: each attempt consumes a hard link to it, since a
    conflicting attempt's abort deletes what it consumed. If another process stored the
    same file first, its copy wins and ours is dropped: exactly one copy is kept.
    """
    links: list[str] = []

    def apply(root) -> ReleaseFile:
        file = key.record(root)
        if file is None:
            raise DownloadFailed(f"{key.filename} was removed from the index meanwhile")
        if current(file) is None:
            links.append(f"{source}.{len(links)}")
            os.link(source, links[-1])
            attach(file, links[-1])
        return file

    def then(file: ReleaseFile) -> str:
        if committed is not None:
            committed(file)
        return current(file).committed()

    try:
        return writer.submit(apply, key=(key.repository, key.project), then=then).result()
    except WriterBusy:
        raise DownloadFailed(f"could not store {key.filename}: the database stayed busy") from None
    finally:
        for link in links:  # consumed links are gone already; these are leftovers of failures
            try:
                os.unlink(link)
            except FileNotFoundError:
                pass


class StoredCopy:
    """A stored blob's file, read as a download reads upstream's answer."""

    status_code, reason = 200, "OK"

    def __init__(self, path: str) -> None:
        self._file = open(path, "rb")
        self.headers = {"Content-Length": str(os.fstat(self._file.fileno()).st_size)}

    def __enter__(self) -> "StoredCopy":
        return self

    def __exit__(self, *exc) -> None:
        self._file.close()

    def iter_content(self, size: int) -> Iterator[bytes]:
        while chunk := self._file.read(size):
            yield chunk
