"""Backing up the embedded FileStorage while the server runs, and restoring it.

``Data.fs`` is copied by ZODB's repozo (``ZODB.scripts.repozo``): a full copy first, then
``.deltafs`` increments of what was appended since; it reads the file while the server has it
open and takes no lock. The blob files beside it never change once committed, so new ones are
copied after the ``Data.fs`` copy: every blob the copied records name is then in the backup
(a few newer ones too, which are harmless). A backup directory holds ``filestorage/`` (repozo's
repository) and ``blobs/`` (the blob directory's layout, without its ``tmp/``).
"""
from __future__ import annotations

import contextlib
import os
import shutil
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterator
from urllib.parse import parse_qsl, unquote, urlsplit

from zc.lockfile import LockError, LockFile
from ZODB import utils
from ZODB.FileStorage import FileStorage
from ZODB.scripts import repozo
from ZODB.TimeStamp import TimeStamp

from shop.storage import DatabaseBusy, DatabaseMissing

DATA_DIR = "filestorage"
BLOB_DIR = "blobs"
# ZEO's and RelStorage's URI schemes, and what backs each up instead.
ENGINE_TOOLS = {
    "zeo": "ZEO: back up on the ZEO server, with repozo on its FileStorage "
           "(python -m ZODB.scripts.repozo -B -r DIR -f Data.fs) and a copy of its blob directory",
    "postgres": "RelStorage on PostgreSQL: back up with pg_dump (and the blob directory, if "
                "blobs are kept outside the database)",
    "mysql": "RelStorage on MySQL: back up with mysqldump (and the blob directory, if blobs "
             "are kept outside the database)",
    "oracle": "RelStorage on Oracle: back up with the engine's own tools (RMAN, expdp)",
    "sqlite3": "RelStorage on SQLite: back up with sqlite3's .backup (and the blob directory)",
}


class BackupError(Exception):
    """A backup or restore refused; the message says why and what to do."""


class UnsupportedStorage(Exception):
    """The database is not an embedded FileStorage: the engine's own tools back it up."""


@dataclass(frozen=True)
class Paths:
    """Where an embedded FileStorage keeps its records and its blob files."""

    data_fs: str
    blob_dir: str | None


def embedded_paths(uri: str) -> Paths:
    """The files of the ``file://`` zodburi ``uri``; UnsupportedStorage for other storages."""
    parts = urlsplit(uri)
    if parts.scheme != "file":
        tools = ENGINE_TOOLS.get(parts.scheme.split("+")[0])
        raise UnsupportedStorage(
            "localshop backs up and restores only the embedded FileStorage (a file:// "
            f"zodbconn.uri), not {parts.scheme}://. "
            + (f"{tools}." if tools else "Use the storage's own backup tools."))
    query = dict(parse_qsl(parts.query))
    blob_dir = query.get("blobstorage_dir")
    return Paths(unquote(parts.path), unquote(blob_dir) if blob_dir else None)


@dataclass
class Written:
    """What one backup wrote: repozo's files (name -> bytes) and the new blob files."""

    kind: str  # "full", "incremental" or "unchanged"
    data_files: dict[str, int] = field(default_factory=dict)
    data_bytes: int = 0
    blob_files: int = 0
    blob_bytes: int = 0
    seconds: float = 0.0

    @property
    def total_bytes(self) -> int:
        return self.data_bytes + self.blob_bytes

    def describe(self, target: str) -> str:
        if self.kind == "unchanged":
            lines = [f"Data.fs unchanged since the last backup in {target}: no new copy"]
        else:
            names = ", ".join(f"{name} ({size:,} bytes)" for name, size in self.data_files.items())
            lines = [f"{self.kind.capitalize()} backup of Data.fs into {target}: {names}"]
        lines.append(f"Blob files: {self.blob_files:,} new ({self.blob_bytes:,} bytes)")
        lines.append(f"Wrote {self.total_bytes:,} bytes in {self.seconds:.1f} s")
        return "\n".join(lines)


def backup(uri: str, target: str) -> Written:
    """Back up the database of ``uri`` into the directory ``target``: a full copy the first
    time, then what changed since (new records, new blob files)."""
    started = time.monotonic()
    paths = embedded_paths(uri)
    if not os.path.exists(paths.data_fs):
        raise DatabaseMissing(f"There is no database at {paths.data_fs}: nothing to back up.")
    repository = os.path.join(target, DATA_DIR)
    os.makedirs(repository, mode=0o700, exist_ok=True)
    written, whole = _attempt(paths, target, repository)
    if not whole:  # packed meanwhile: a full copy of the packed file
        again, whole = _attempt(paths, target, repository, full=True)
        if not whole:
            raise BackupError(f"{paths.data_fs} was packed twice while it was being backed up: "
                              "run the backup again.")
        again.blob_files += written.blob_files
        again.blob_bytes += written.blob_bytes
        written = again
    written.seconds = time.monotonic() - started
    return written


def _attempt(paths: Paths, target: str, repository: str, full: bool = False) -> tuple[Written, bool]:
    """One backup, and whether Data.fs stayed the same file throughout: a pack replaces it,
    and a copy that began before it mixes two files (then it is removed again)."""
    identity = _identity(paths.data_fs)
    before = _sizes(repository)
    _wait_for_a_new_second(repository)
    try:
        repozo.do_backup(_repozo_options("-B", *(["-F"] if full else []),
                                         "-r", repository, "-f", paths.data_fs))
    except AssertionError:  # repozo's copy found the file shorter: packed since it looked
        if _identity(paths.data_fs) == identity:
            raise
    written = _compare(before, _sizes(repository))
    if paths.blob_dir is not None and os.path.isdir(paths.blob_dir):
        # After the copy of Data.fs: every blob it names is committed by now.
        written.blob_files, written.blob_bytes = copy_blobs(
            paths.blob_dir, os.path.join(target, BLOB_DIR))
    if _identity(paths.data_fs) == identity:
        return written, True
    for name in set(os.listdir(repository)) - set(before):  # this attempt's files
        os.remove(os.path.join(repository, name))
    return written, False


def _identity(path: str) -> tuple[int, int]:
    status = os.stat(path)
    return status.st_dev, status.st_ino


def _repozo_options(*argv: str):
    return repozo.parseargs(list(argv))


def _sizes(directory: str) -> dict[str, int]:
    return {entry.name: entry.stat().st_size for entry in os.scandir(directory) if entry.is_file()}


def _compare(before: dict[str, int], after: dict[str, int]) -> Written:
    """What repozo wrote: its new data file (.fs or .deltafs), index and .dat lines."""
    grown = {name: size - before.get(name, 0) for name, size in sorted(after.items())
             if size != before.get(name)}
    data = {name: size for name, size in grown.items() if name.endswith((".fs", ".deltafs"))}
    kind = ("unchanged" if not data
            else "full" if any(name.endswith(".fs") for name in data) else "incremental")
    return Written(kind, data, sum(max(size, 0) for size in grown.values()))


def _wait_for_a_new_second(repository: str) -> None:
    """repozo names its files to the second: a second backup within the same second would
    collide with the first (or overwrite its index)."""
    while any(name.startswith(repozo.gen_filename(None, ext="")) for name in os.listdir(repository)):
        time.sleep(0.05)


def blob_files(source: str) -> Iterator[str]:
    """The committed blob files under a blob directory (and its ``.layout``), relative to it;
    not ``tmp/``, where uncommitted ones are written."""
    for dirpath, dirnames, filenames in os.walk(source):
        relative = os.path.relpath(dirpath, source)
        if relative == ".":
            dirnames[:] = [name for name in dirnames if name != "tmp"]
        for name in filenames:
            if name.endswith(".blob") or (relative == "." and name == ".layout"):
                yield os.path.normpath(os.path.join(relative, name))


def copy_blobs(source: str, target: str, up_to: bytes | None = None) -> tuple[int, int]:
    """Copy the blob files of ``source`` that ``target`` lacks (those of transactions up to
    ``up_to`` only, when given): (blob files, bytes) copied. A file is complete or absent."""
    copied = size = 0
    for relative in blob_files(source):
        if up_to is not None and _blob_tid(relative) > up_to:
            continue
        src, dest = os.path.join(source, relative), os.path.join(target, relative)
        try:
            length = os.path.getsize(src)
        except FileNotFoundError:  # a pack removed it since the walk: no record needs it
            continue
        if os.path.exists(dest) and os.path.getsize(dest) == length:
            continue
        os.makedirs(os.path.dirname(dest), mode=0o700, exist_ok=True)
        shutil.copy2(src, dest + ".part")
        os.replace(dest + ".part", dest)
        if relative.endswith(".blob"):
            copied, size = copied + 1, size + length
    return copied, size


def _blob_tid(relative: str) -> bytes:
    name = os.path.basename(relative)
    if not name.endswith(".blob"):
        return b""  # .layout: always wanted
    return utils.repr_to_oid(name[:-len(".blob")])


# --- restoring ------------------------------------------------------------------------------

@dataclass
class Restored:
    """What a restore put back: Data.fs (bytes, the time of its last transaction), blobs."""

    data_fs: str
    data_bytes: int
    as_of: str
    blob_files: int
    blob_bytes: int

    def describe(self) -> str:
        return (f"Restored {self.data_fs} ({self.data_bytes:,} bytes, last transaction "
                f"{self.as_of})\nBlob files: {self.blob_files:,} ({self.blob_bytes:,} bytes)")


def repozo_date(text: str) -> str:
    """An ISO 8601 date-time (UTC unless it says otherwise) as repozo's ``-D`` wants it."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise BackupError(f"--date {text!r}: expected an ISO 8601 date-time in UTC, such as "
                          "2026-12-01T14:30:00Z") from None
    if when.tzinfo is not None:
        when = when.astimezone(timezone.utc)
    return when.strftime("%Y-%m-%d-%H-%M-%S")


def restore(uri: str, source: str, date: str | None = None, force: bool = False) -> Restored:
    """Put the database of ``uri`` back as of the latest backup in ``source`` (or as of
    ``date``); refused while a server holds the database, or over one without ``force``."""
    paths = embedded_paths(uri)
    repository = os.path.join(source, DATA_DIR)
    if not os.path.isdir(repository) or not any(map(repozo.is_data_file, os.listdir(repository))):
        raise BackupError(f"There is no backup in {source} (no {DATA_DIR}/ made by "
                          "'localshop backup'): give the directory 'backup' wrote to.")
    os.makedirs(os.path.dirname(paths.data_fs) or ".", exist_ok=True)
    with held(paths.data_fs):
        if os.path.exists(paths.data_fs) and not force:
            raise BackupError(f"There is a database at {paths.data_fs} already: restoring would "
                              "overwrite it. Move it away first, or pass --force to replace it.")
        _recover(repository, paths.data_fs, date)
        last, as_of = _last_transaction(paths.data_fs)
        files = size = 0
        if paths.blob_dir is not None:
            if force and os.path.isdir(paths.blob_dir):
                shutil.rmtree(paths.blob_dir)  # the replaced database's files
            os.makedirs(paths.blob_dir, mode=0o700, exist_ok=True)
            files, size = copy_blobs(os.path.join(source, BLOB_DIR), paths.blob_dir, up_to=last)
    return Restored(paths.data_fs, os.path.getsize(paths.data_fs), as_of, files, size)


@contextlib.contextmanager
def held(data_fs: str) -> Iterator[None]:
    """FileStorage's own lock on ``data_fs`` held: no server opens it meanwhile."""
    try:
        lock = LockFile(data_fs + ".lock")
    except LockError:
        raise DatabaseBusy(f"Cannot restore {data_fs}: another process (the running localshop "
                           "server?) holds its lock. Stop the server first.") from None
    try:
        yield
    finally:
        lock.close()


def _recover(repository: str, data_fs: str, date: str | None) -> None:
    argv = ["-R", "-w", "-r", repository, "-o", data_fs]
    if date is not None:
        argv += ["-D", repozo_date(date)]
    with contextlib.suppress(FileNotFoundError):
        os.remove(data_fs + ".index")  # the replaced file's: repozo brings the backup's
    try:
        repozo.do_recover(_repozo_options(*argv))
    except repozo.NoFiles:
        raise BackupError(f"There is no backup in {repository} as early as {date}: the first "
                          f"is {min(filter(repozo.is_data_file, os.listdir(repository)))}.") from None
    except repozo.VerificationFail as e:
        raise BackupError(f"The backup in {repository} is damaged: {e}") from None


def _last_transaction(data_fs: str) -> tuple[bytes, str]:
    """The id of the last transaction in ``data_fs`` and its time (ISO 8601, UTC)."""
    storage = FileStorage(data_fs, read_only=True)
    try:
        tid = storage.lastTransaction()
    finally:
        storage.close()
    when = TimeStamp(tid).timeTime()
    return tid, datetime.fromtimestamp(when, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
