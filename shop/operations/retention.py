"""Retention: the policies of each repository applied, and when mirrored files were downloaded.

Two limits per repository (``Repository.keep_dev_releases``, ``.mirror_cache_size``): the
newest N pre-/dev-releases of each hosted project are kept, older ones (their uploaded files)
deleted; mirrored files past the cache size are evicted, least recently downloaded first,
and look again as before their first download (listed, fetched from upstream on demand).
Final releases and uploaded files are never evicted. Mirrored files upstream removed (found
gone from its listing, ``ReleaseFile.removed_upstream``) are evicted, record and all, by the
first clean-up ``REMOVED_DAYS`` days after that was noticed, unless their repository keeps
upstream's deletions (``upstream_deletions = "keep"``): meanwhile an admin can still inspect
them. The audit log's entries older than
``shop.audit.days`` are dropped too (``expire_audit``). ``plan`` says what would go, ``apply``
does it: ``localshop cleanup`` and the server's periodic clean-up (``shop.cleanup_interval``)
print or log the same lines.

Download times are not written per download (that would make every download a write, and
concurrent downloads of one file conflict): each process notes them in memory
(``DownloadTimes``) and writes them in one transaction of their own every few minutes, before
each clean-up and at exit. A crash loses at most those minutes of times: the order of
eviction, nothing else.
"""
from __future__ import annotations

import atexit
import datetime
import logging
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Iterator

from packaging.version import InvalidVersion, Version
from ZODB.POSException import ConflictError

from shop.meters import MIRROR_EVICT
from shop.mirror.storing import FileKey
from shop.model import audit, events, mirrored, repositories
from shop.model.folders import utcnow
from shop.model.root import Root
from shop.model.tree import Package, ReleaseFile, Repository
from shop.operations import periodic
from shop.storage import root_transaction

log = logging.getLogger(__name__)

NEVER = datetime.datetime.min.replace(tzinfo=datetime.timezone.utc)
ATTEMPTS = 3  # of a transaction that lost a conflict to a concurrent writer
MAX_PENDING = 100_000  # download times kept in memory between two writes (files, not downloads)
WRITE_EVERY = 300.0  # seconds between two writes of the download times
AUDIT_BATCH = 1000  # audit entries dropped per transaction
REMOVED_DAYS = 7  # days a file removed upstream keeps its bytes here (not served), to inspect


@dataclass(frozen=True)
class Deletion:
    """One file retention removes: an old pre-/dev-release's upload, or mirrored bytes evicted."""

    kind: str  # "dev-release", "evict" or "removed" (upstream removed it)
    key: FileKey
    version: str
    size: int  # bytes stored (0 for an upload whose bytes are not here)

    def line(self) -> str:
        k = self.key
        return f"{self.kind:<11} {k.repository}/{k.project} {self.version} {k.filename} {self.size} bytes"


def plan(root: Root, now: datetime.datetime | None = None) -> list[Deletion]:
    """What retention would delete now, repository by repository (nothing is changed)."""
    found: list[Deletion] = []
    cutoff = (now or utcnow()) - datetime.timedelta(days=REMOVED_DAYS)
    for repository in root.repositories.values():
        if repository.keep_dev_releases:
            for package in repository.values():
                if package.hosted:
                    found += _old_prereleases(package, repository.keep_dev_releases)
        removed = _removed_upstream(repository, cutoff)
        found += removed
        if repository.mirror_cache_size:
            found += _evictions(repository, repository.mirror_cache_size, removed)
    return found


def _removed_upstream(repository: Repository, cutoff: datetime.datetime) -> list[Deletion]:
    """Mirrored files upstream removed before ``cutoff``, unless the repository keeps them."""
    if repository.upstream_deletions == "keep":
        return []
    return [Deletion("removed", FileKey.of(file), file.__parent__.version,
                     (file.size or 0) if file.blob is not None else 0)
            for package in repository.values() for file in package.records()
            if file.origin == "mirror" and file.removed_upstream is not None
            and file.removed_upstream <= cutoff]


def _is_prerelease(version: str) -> bool:
    try:
        parsed = Version(version)
    except InvalidVersion:  # a legacy version: nobody can say it is not final
        return False
    return parsed.is_prerelease or parsed.is_devrelease


def _old_prereleases(package: Package, keep: int) -> Iterator[Deletion]:
    """The uploads of a hosted project's pre-/dev-releases older than its newest ``keep``."""
    kept = 0
    for release in package.releases():  # newest first
        uploads = repositories.uploaded_files(release)
        if not uploads or not _is_prerelease(release.__name__):
            continue
        if kept < keep:
            kept += 1
            continue
        for file in uploads:
            size = (file.size or 0) if file.blob is not None else 0
            yield Deletion("dev-release", FileKey.of(file), release.version, size)


def mirrored_files(repository: Repository) -> list[ReleaseFile]:
    """The mirrored files of a repository whose bytes are stored (one walk of every file)."""
    return [file for package in repository.values() for file in package.records()
            if file.origin == "mirror" and file.blob is not None]


def _evictions(repository: Repository, limit: int,
               removed: list[Deletion] = ()) -> list[Deletion]:
    """Mirrored files to forget, least recently downloaded first, until ``limit`` bytes remain
    (after the ``removed`` ones go)."""
    going = {d.key for d in removed}
    files = [f for f in mirrored_files(repository) if FileKey.of(f) not in going]
    total = sum(file.size or 0 for file in files)
    files.sort(key=lambda f: (f.last_downloaded or NEVER, f.__parent__.__parent__.__name__,
                              f.filename))
    found = []
    for file in files:
        if total <= limit:
            break
        total -= file.size or 0
        found.append(Deletion("evict", FileKey.of(file), file.__parent__.version, file.size or 0))
    return found


def apply(root: Root, deletions: list[Deletion]) -> list[Deletion]:
    """Delete what ``plan`` found (in the caller's transaction); what was still there."""
    done = []
    for deletion in deletions:
        file = deletion.key.locate(root)
        if file is None:
            continue
        if deletion.kind in ("evict", "removed"):
            mirrored.forget(file)  # a file removed upstream loses its record too
        else:
            repositories.delete(file)
        done.append(deletion)
    return done


def report(deletions: list[Deletion], dry_run: bool) -> str:
    """The lines ``localshop cleanup`` prints: one per file, then the total."""
    total = sum(d.size for d in deletions)
    evicted = sum(1 for d in deletions if d.kind == "evict")
    removed = sum(1 for d in deletions if d.kind == "removed")
    verb = "Would delete" if dry_run else "Deleted"
    summary = (f"{verb} {len(deletions)} files, {total} bytes "
               f"({len(deletions) - evicted - removed} of old pre-/dev-releases, {evicted}"
               f" mirrored evicted, {removed} removed upstream {REMOVED_DAYS} days ago or"
               " more)")
    if deletions and not dry_run:
        summary += "; their blob files are freed on disk by the next pack"
    return "\n".join([d.line() for d in deletions] + [summary])


# Who deletes in the server's periodic run, as the audit log and the webhooks' bodies say.
RETENTION = events.Actor("retention (shop.cleanup_interval)", "local")


def cleanup(db) -> list[Deletion]:
    """Plan and apply retention in a transaction of its own (the server's periodic run),
    planned again after a conflict with a concurrent writer."""
    def work(root: Root) -> list[Deletion]:
        events.act_on(root, RETENTION)
        return apply(root, plan(root))

    return _retried(db, work)


def _retried(db, work):
    """``work(root)`` in a transaction of its own, done again after a conflict."""
    for attempt in range(ATTEMPTS):
        try:
            with root_transaction(db) as root:
                return work(root)
        except ConflictError:
            if attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def expire_audit(db, days: int, now: float | None = None, batches: int = 100) -> int:
    """Drop the audit log's entries older than ``days`` (``shop.audit.days``), at most
    ``AUDIT_BATCH`` per transaction and ``batches`` transactions per call; how many went."""
    cutoff = (time.time() if now is None else now) - days * 86400

    def batch(root) -> int:
        log = audit.log_of(root)
        return audit.expire(log, cutoff, AUDIT_BATCH) if log is not None else 0

    dropped = 0
    for _ in range(batches):
        done = _retried(db, batch)
        dropped += done
        if done < AUDIT_BATCH:
            break
    return dropped


class DownloadTimes:
    """When this process served each mirrored file: noted in memory, written in batches."""

    def __init__(self, max_pending: int = MAX_PENDING) -> None:
        self._lock = threading.Lock()
        self._pending: dict[FileKey, datetime.datetime] = {}
        self.max_pending = max_pending
        self.dropped = 0  # files not noted since the batch was full (they keep older times)

    def seen(self, file: ReleaseFile) -> None:
        """Note a download of ``file`` (a mirrored file) now; nothing is written."""
        key = FileKey.of(file)
        with self._lock:
            if key in self._pending or len(self._pending) < self.max_pending:
                self._pending[key] = utcnow()
            else:
                self.dropped += 1

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def _take(self) -> dict[FileKey, datetime.datetime]:
        with self._lock:
            taken, self._pending = self._pending, {}
            return taken

    def _put_back(self, taken: dict[FileKey, datetime.datetime]) -> None:
        with self._lock:
            for key, when in taken.items():  # a newer time noted meanwhile wins
                if self._pending.get(key, NEVER) < when:
                    self._pending[key] = when

    def write(self, db) -> int:
        """Write the noted times in a transaction of their own; how many files were noted.
        After repeated conflicts they are kept for the next write."""
        taken = self._take()
        if not taken:
            return 0
        for _attempt in range(ATTEMPTS):
            try:
                with root_transaction(db) as root:
                    _write_times(root, taken)
                return len(taken)
            except ConflictError:
                continue
        self._put_back(taken)
        return 0


def _write_times(root: Root, times: dict[FileKey, datetime.datetime]) -> None:
    for key, when in times.items():
        file = key.locate(root)
        if file is not None and (file.last_downloaded or NEVER) < when:
            file.last_downloaded = when


class Periodic(periodic.Periodic):
    """The server's retention thread: download times written and expired audit entries dropped
    every ``write_every`` seconds, the policies applied every ``interval`` (0: never), the
    first time one write after start."""

    name = "retention"
    failure = "the periodic clean-up failed"

    def __init__(self, services, interval: int, write_every: float = WRITE_EVERY) -> None:
        super().__init__(services, min(write_every, interval) if interval else write_every)
        self.interval = interval
        self._next_cleanup = time.monotonic() + self.period

    def tick(self, services) -> list[Deletion]:
        """Write the download times; apply the policies when due. What was deleted."""
        services.download_times.write(services.db)
        expired = expire_audit(services.db, services.settings.audit_days)
        if expired:
            log.info("retention: dropped %d audit log entries older than %d days", expired,
                     services.settings.audit_days)
        if not self.interval or time.monotonic() < self._next_cleanup:
            return []
        self._next_cleanup = time.monotonic() + self.interval
        done = cleanup(services.db)
        for line in report(done, False).splitlines() if done else ():
            log.info("retention: %s", line)
        for deletion in done:
            if deletion.kind in ("evict", "removed"):
                services.meters.note(MIRROR_EVICT, deletion.size, repository=deletion.key.repository)
        return done


def includeme(config) -> None:
    """The process's download times, written in batches and at exit (before the database is
    closed: ``shop.storage`` registered that earlier, and exit handlers run last first), and
    the periodic clean-up (``shop.cleanup_interval``)."""
    services = config.registry.shop
    services.download_times = times = DownloadTimes()
    db = weakref.ref(services.db)

    def write_at_exit() -> None:
        database = db()
        if database is not None and times.pending():
            try:
                times.write(database)
            except Exception:  # exiting: the times of a few minutes are all that is lost
                log.exception("retention: writing download times at exit")

    atexit.register(write_at_exit)
    Periodic(services, services.settings.cleanup_interval).start()
