"""Localshop's temporary files beside the blobs: held with a lock while in use, and removed at
start-up when a stopped or crashed process left them (with the blob files of a commit that a
crash cut short)."""
from __future__ import annotations

import errno
import fcntl
import logging
import os
import tempfile
import weakref
from typing import BinaryIO

from ZODB import DB
from ZODB.blob import BlobStorage
from ZODB.utils import p64, u64

log = logging.getLogger(__name__)


# The names localshop's temporary files start with ("BUC": what ZODB renames one to when a
# blob takes it over, until the commit moves it beside the blobs).
SCRATCH_PREFIXES = ("upload-", "mirror-", "metadata-", "BUC")
# The errors of a disk (or a quota) with no room left: nothing that needs the space can work.
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def is_disk_full(error: BaseException) -> bool:
    """Whether ``error`` is the disk (or the quota) having no room left."""
    return isinstance(error, OSError) and error.errno in DISK_FULL_ERRNOS


class ScratchFile:
    """A new temporary file, held with an exclusive ``flock`` until ``release()``.

    Hard links to it and the names it is renamed to are the same file, held too. The
    start-up clean-up removes only files no process holds, so a process sharing the
    directory (ZEO clients sharing a blob cache) never loses a file it is writing. That
    needs flock's own semantics, as local filesystems have them; on NFS, where Linux emulates
    flock with POSIX locks that a process drops when it closes any descriptor of the file,
    give each process a blob directory of its own.
    """

    def __init__(self, directory: str | None, prefix: str, suffix: str = "") -> None:
        while True:
            fd, self.path = tempfile.mkstemp(dir=directory, prefix=prefix, suffix=suffix)
            fcntl.flock(fd, fcntl.LOCK_EX)
            if _same_file(fd, self.path):
                break
            os.close(fd)  # a clean-up took it between its creation and the lock: again
        self.fd = fd  # read and write; holds the lock
        self.release = weakref.finalize(self, os.close, fd)

    def writer(self) -> BinaryIO:
        """A file object writing to it; closing it keeps the lock (held by ``fd``)."""
        return os.fdopen(os.dup(self.fd), "wb")


def _same_file(fd: int, path: str) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def remove_leftovers(db: DB) -> tuple[int, int]:
    """Remove the temporary files that no process holds (a crashed one's); (count, bytes)."""
    try:
        directory = db.storage.temporaryDirectory()
    except (AttributeError, TypeError):  # a storage without blobs (ZODB says it either way)
        return 0, 0
    if not os.path.isdir(directory):
        return 0, 0
    count = size = 0
    for entry in os.scandir(directory):
        if entry.name.startswith(SCRATCH_PREFIXES) and entry.is_file(follow_symlinks=False):
            removed = _remove_unheld(entry.path)
            if removed is not None:
                count, size = count + 1, size + removed
    if count:
        log.warning("Removed %d temporary files (%d bytes) that a stopped or crashed process "
                    "left in %s", count, size, directory)
    return count, size


def _remove_unheld(path: str) -> int | None:
    """Remove the file at ``path`` unless a process holds it; its size, or None if kept."""
    try:
        # Read and write: where flock is emulated by fcntl locks (NFS), an exclusive lock
        # needs a descriptor open for writing.
        fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW)
    except OSError:  # gone already, or not ours to open
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # held by a live writer, or locks unsupported here: keep it
            return None
        size = os.fstat(fd).st_size
        if os.path.basename(path).startswith("BUC") and size == 0:
            return None  # ZODB's placeholder, renamed over in a moment: it costs nothing
        if not _same_file(fd, path):
            return None
        os.unlink(path)
        return size
    finally:
        os.close(fd)


# How many oids past the last stored one may lack a blob directory before the search for a
# crashed commit's blob files stops: the objects of a transaction without a blob are a few.
ORPHAN_SEARCH = 1000


def remove_unstored_blobs(storage) -> tuple[int, int]:
    """Remove the blob files of a commit killed before it finished; (count, bytes).

    ZODB moves a transaction's blob files beside the blobs before the transaction is on
    disk; killed then, FileStorage drops the transaction at the next start and the files stay
    for good. Their objects are new (localshop never rewrites a blob), so they are in the
    directories of oids past the last stored one. Only a FileStorage with a blob directory is
    looked at: its lock makes this process the blob directory's only user.
    """
    base = getattr(storage, "_BlobStorage__storage", None)  # ZODB keeps it name-mangled
    last = getattr(base, "_oid", None)  # FileStorage's largest stored oid
    if not isinstance(storage, BlobStorage) or last is None:
        return 0, 0
    count = size = missing = 0
    oid = u64(last)
    while missing < ORPHAN_SEARCH:
        oid += 1
        path = storage.fshelper.getPathForOID(p64(oid))
        if not os.path.isdir(path):
            missing += 1
            continue
        missing = 0
        for entry in os.scandir(path):
            if entry.name.endswith(".blob") and entry.is_file(follow_symlinks=False):
                count, size = count + 1, size + entry.stat().st_size
                os.unlink(entry.path)
    if count:
        log.warning("Removed %d blob files (%d bytes) of a commit that a crash cut short",
                    count, size)
    return count, size
