"""Packing: ZODB's pack with blob garbage collection, so the bytes of deleted releases and of
superseded records leave the disk; measured before and after.

With the embedded FileStorage only the process that holds its lock can pack: the running
server does it (``POST /+pack``, and on a schedule when ``shop.pack_days`` is set); the
command line packs directly when the server is stopped, and through the ZEO client (the pack
runs on the ZEO server) when the database is ZEO's. FileStorage packs beside commits: it
copies what is reachable while requests go on, and takes the commit lock only at the end.
"""
from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from dataclasses import asdict, dataclass
from urllib.parse import unquote, urlsplit

from ZODB import DB

log = logging.getLogger(__name__)

DAY = 86400.0


class PackError(RuntimeError):
    """A pack that cannot be done now (another one runs, or the storage refused)."""


@dataclass(frozen=True)
class Usage:
    """Bytes on disk: the database file (as the storage reports it), the blob directory, and
    the copy of the database file as it was before the last pack (FileStorage keeps it as
    ``Data.fs.old``); None for what is not on this machine (ZEO's server has them)."""

    data_bytes: int
    blob_bytes: int | None
    old_bytes: int | None = None


@dataclass(frozen=True)
class PackResult:
    """What a pack did: how much history it kept, the space before and after, how long."""

    days: float
    before: Usage
    after: Usage
    seconds: float

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "PackResult":
        return cls(days=float(data["days"]), before=Usage(**data["before"]),
                   after=Usage(**data["after"]), seconds=float(data["seconds"]))

    def summary(self) -> str:
        """Lines for a person: the time taken, then each part's size before and after."""
        lines = [f"Packed the database, keeping {self.days:g} days of history, in"
                 f" {self.seconds:.1f} s",
                 f"  database file: {megabytes(self.before.data_bytes)} ->"
                 f" {megabytes(self.after.data_bytes)}"]
        if self.before.blob_bytes is not None and self.after.blob_bytes is not None:
            lines.append(f"  blob directory: {megabytes(self.before.blob_bytes)} ->"
                         f" {megabytes(self.after.blob_bytes)}")
        if self.after.old_bytes is not None:
            lines.append(f"  the database file before this pack, kept as .old until the next"
                         f" pack (delete it once backed up): {megabytes(self.after.old_bytes)}")
        return "\n".join(lines)


def megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def old_copy(uri: str) -> str | None:
    """Where an embedded FileStorage keeps its file as it was before the last pack."""
    parts = urlsplit(uri)
    return unquote(parts.path) + ".old" if parts.scheme == "file" and parts.path else None


def blob_directory(uri: str) -> str | None:
    """The blob directory of an embedded FileStorage's zodburi URI (not a ZEO client's
    cache, whose size says nothing about the server's)."""
    parts = urlsplit(uri)
    if parts.scheme != "file":
        return None
    for item in parts.query.split("&"):
        key, _, value = item.partition("=")
        if key == "blobstorage_dir" and value:
            return unquote(value)
    return None


def directory_bytes(path: str) -> int:
    """The bytes of the files under ``path`` (os.walk; files vanishing meanwhile count 0)."""
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except FileNotFoundError:
                pass
    return total


def file_bytes(path: str | None) -> int | None:
    try:
        return None if path is None else os.stat(path).st_size
    except FileNotFoundError:
        return None


def usage(db: DB, blob_dir: str | None, old: str | None = None) -> Usage:
    """The space the database takes now."""
    return Usage(data_bytes=int(db.storage.getSize()),
                 blob_bytes=None if blob_dir is None else directory_bytes(blob_dir),
                 old_bytes=file_bytes(old))


def check_days(days: float) -> float:
    """``days`` if it is a number of days of history one can keep (0 or more), else ValueError."""
    days = float(days)
    if not days >= 0 or days == float("inf"):  # NaN too
        raise ValueError(f"days of history to keep must be 0 or more, not {days!r}")
    return days


class Packer:
    """Packs one database, one pack at a time (a second asks while one runs: PackError)."""

    def __init__(self, db: DB, blob_dir: str | None, old: str | None = None) -> None:
        self.db = db
        self.blob_dir = blob_dir
        self.old = old  # FileStorage's Data.fs.old, measured too
        self._lock = threading.Lock()

    def pack(self, days: float = 0) -> PackResult:
        """Pack away the history older than ``days`` days, with the blobs only it used."""
        days = check_days(days)
        if not self._lock.acquire(blocking=False):
            raise PackError("A pack is already running; try again when it is done.")
        try:
            before = usage(self.db, self.blob_dir, self.old)
            started = time.monotonic()
            try:
                self.db.pack(days=days)
            except Exception as e:  # the storage's own refusal (ZEO's "already packing"...)
                raise PackError(f"The storage refused to pack: {e}") from e
            seconds = time.monotonic() - started
            after = usage(self.db, self.blob_dir, self.old)
        finally:
            self._lock.release()
        result = PackResult(days=days, before=before, after=after, seconds=seconds)
        log.info("%s", result.summary())
        return result


class PackSchedule:
    """Packs every ``interval`` seconds in a daemon thread of the server (``shop.pack_days``),
    keeping ``days`` days of history; a failed pack is logged and the next one still runs."""

    def __init__(self, packer: Packer, days: float, interval: float = DAY) -> None:
        self.packer = packer
        self.days = check_days(days)
        self.interval = interval
        self.packs = 0  # done so far (tests and the log read it)
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="pack-schedule", daemon=True)

    def start(self) -> "PackSchedule":
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.packer.pack(self.days)
                self.packs += 1
            except PackError as e:
                log.warning("Scheduled pack skipped: %s", e)
            except Exception:  # the schedule outlives one bad pack; the log says what it was
                log.exception("Scheduled pack failed")


def includeme(config) -> None:
    """The server's packer (``request.shop.packer``), and its schedule when ``shop.pack_days``
    is set; the schedule stops when the process ends."""
    services = config.registry.shop
    uri = config.registry.settings.get("zodbconn.uri", "")
    services.packer = Packer(services.db, blob_directory(uri), old_copy(uri))
    days = services.settings.pack_days
    if days is not None:
        schedule = PackSchedule(services.packer, days).start()
        atexit.register(schedule.stop)
        log.info("Packing once a day, keeping %g days of history (shop.pack_days)", days)
