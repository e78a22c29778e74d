"""Copying a whole database, blobs included, to another storage named by a zodburi URI
(FileStorage, ZEO...), for migrations; the copy is then checked like any database.

History-free (the default) the copy is the current state in one transaction: the records
reachable from the root, read from one connection's snapshot (consistent while other
processes commit) and stored under their own oids, so every reference holds. That is one
pass that writes only what is live. The alternative, copying every transaction and then
packing the copy, would write all history (the bytes of deleted releases too) only to drop
it, and needs twice the disk meanwhile. With history, ZODB's own ``copyTransactionsFrom``
copies every transaction, blobs included, keeping their ids and times.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass

from zc.lockfile import LockError
from ZODB.Connection import TransactionMetaData
from ZODB.POSException import POSKeyError
from ZODB.utils import oid_repr, z64
from zodburi import resolve_uri

from shop.operations.check import Progress, Report, check_database, no_progress
from shop.operations.records import count, reachable, snapshot
from shop.settings import ensure_storage_dirs
from shop.storage import open_database, read_transaction


class CopyError(Exception):
    """The copy cannot be made; the message says why and what to do."""


@dataclass
class Copied:
    """What a copy wrote."""

    objects: int = 0
    blobs: int = 0
    blob_bytes: int = 0
    seconds: float = 0.0

    def summary(self, shown: str) -> str:
        return (f"Copied {self.objects} objects and {self.blobs} blobs "
                f"({self.blob_bytes / 1e6:.1f} MB) to {shown} in {self.seconds:.1f} s")


def shown(uri: str) -> str:
    """A URI as messages show it: without its query (which may hold a password)."""
    return uri.split("?")[0]


def open_destination(uri: str):
    """The storage ``uri`` names, opened to write, refused unless it holds no transaction."""
    ensure_storage_dirs(uri)
    factory, _ = resolve_uri(uri)
    try:
        storage = factory()
    except LockError:
        raise CopyError(f"{shown(uri)} is locked by another process: copy to a database no"
                        " server uses.") from None
    if storage.lastTransaction() != z64:
        storage.close()
        raise CopyError(f"{shown(uri)} is not empty: copy into a new database (a new file,"
                        " or a ZEO server on an empty storage).")
    return storage


def copy_database(conn, to_uri: str, *, history: bool = False,
                  progress: Progress = no_progress) -> Copied:
    """Copy the database of ``conn`` (history-free from its snapshot, or every transaction)."""
    started = time.monotonic()
    dest = open_destination(to_uri)
    try:
        if history:
            copied = copy_history(conn.db().storage, dest, to_uri)
        else:
            copied = copy_current(snapshot(conn), dest, progress)
    finally:
        dest.close()
    copied.seconds = time.monotonic() - started
    return copied


def copy_history(source, dest, to_uri: str) -> Copied:
    """Every transaction of ``source``, blobs included, by ZODB's ``copyTransactionsFrom``."""
    if not hasattr(dest, "restoreBlob"):
        # ZEO's ClientStorage copies transactions with ZODB's generic copy, which drops blobs.
        raise CopyError(f"{shown(to_uri)} cannot take history with blobs: copy with --history"
                        " to a file:// URI and serve that file with ZEO, or copy without"
                        " --history.")
    dest.copyTransactionsFrom(source)
    return Copied(objects=count(dest) or 0)


def copy_current(source, dest, progress: Progress = no_progress) -> Copied:
    """The records reachable from the root of ``source`` into the empty ``dest``, at once."""
    copied = Copied()
    txn = TransactionMetaData(user="localshop copy",
                              description="the current state of another database")
    bar = progress(desc="copy", total=count(source), unit="obj")
    dest.tpc_begin(txn)
    try:
        for record in reachable(source):
            if record.data is None:
                raise CopyError(f"{record.name} is missing, yet {oid_repr(record.referrer)} refers to"
                                " it: run 'localshop check' and repair the database first.")
            if record.is_blob:
                copied.blob_bytes += _store_blob(source, dest, record, txn)
                copied.blobs += 1
            else:
                dest.store(record.oid, z64, record.data, "", txn)
            copied.objects += 1
            bar.update(1)
        dest.tpc_vote(txn)
        dest.tpc_finish(txn)
    except BaseException:
        dest.tpc_abort(txn)
        raise
    finally:
        bar.close()
    return copied


def _store_blob(source, dest, record, txn) -> int:
    """Store a blob record with a copy of its file (the storage takes the file it is given:
    the source's own must stay); the bytes copied."""
    try:
        path = source.loadBlob(record.oid, record.serial)
    except POSKeyError:
        raise CopyError(f"the blob file of {record.name} is missing: run 'localshop check'"
                        " (--repair forgets broken mirrored files) first.") from None
    fd, target = tempfile.mkstemp(suffix=".copy", dir=dest.temporaryDirectory())
    os.close(fd)
    shutil.copyfile(path, target)  # an independent copy: a migration may leave the old disk
    dest.storeBlob(record.oid, z64, record.data, target, "", txn)
    return os.path.getsize(path)


def check_copy(to_uri: str, progress: Progress = no_progress) -> Report:
    """``check`` on the copy, opened read-only."""
    db = open_database(to_uri, writes=False)
    try:
        with read_transaction(db) as root:
            return check_database(root, progress)
    finally:
        db.close()
