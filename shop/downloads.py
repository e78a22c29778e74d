"""Mirrored files: fetched from upstream once, streamed to every waiting client, then stored.

One download per file per process. It writes to a temporary file on the blob filesystem,
hashing as the bytes pass; every client that asks meanwhile reads along from that file
(``os.pread`` on its own descriptor), the first one included. The last byte is held back
until size and sha256 are verified, so a bad download never reaches a client as a
complete-looking file; once they are, the clients finish while the verified file becomes a
blob with ``consumeFile`` in its own short transaction ("transaction-aware mirror").
Anything else leaves no trace in the store.
"""
from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
import weakref
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterator

import transaction
from ZODB.blob import Blob
from ZODB.POSException import ConflictError

from .database import root_transaction
from .mirror import Upstream, UpstreamError
from .resources import ReleaseFile, app_root, blob_from_file
from .simple import PageCache, render_ahead

log = logging.getLogger(__name__)

CHUNK = 256 * 1024
STORE_ATTEMPTS = 5


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

    def locate(self, root) -> ReleaseFile | None:
        try:
            return root.repositories[self.repository][self.project][self.release][self.filename]
        except KeyError:
            return None


class Download:
    """One upstream download in progress, and what readers need to follow it."""

    def __init__(self, key: FileKey, url: str, sha256: str | None, size: int | None, tmp_dir: str):
        self.key = key
        self.url = url
        self.sha256 = sha256
        self.size = size
        self.cond = threading.Condition()
        self.started = False  # upstream answered with headers (size known if it said)
        self.written = 0
        self.state = "running"  # then "done" or "failed"
        self.verified = False  # size and sha256 checked: clients may have the last byte
        self.error: str | None = None
        self.final_path: str | None = None
        fd, self.tmp_path = tempfile.mkstemp(dir=tmp_dir, prefix="mirror-", suffix=".part")
        self._write = os.fdopen(fd, "wb")
        self._read_fd: int | None = os.open(self.tmp_path, os.O_RDONLY)

    # --- the downloading thread ---------------------------------------------------------

    def run(self, upstream: Upstream, store: Callable[["Download", str], str]) -> None:
        try:
            digest = hashlib.sha256()
            with upstream.get(self.url, stream=True) as response:
                if response.status_code != 200:
                    raise DownloadFailed(
                        f"upstream {self.url} answered {response.status_code} {response.reason}"
                    )
                length = response.headers.get("Content-Length")
                with self.cond:
                    if self.size is None and length and length.isdigit():
                        self.size = int(length)
                    self.started = True
                    self.cond.notify_all()
                for chunk in response.iter_content(CHUNK):
                    digest.update(chunk)
                    self._write.write(chunk)
                    self._write.flush()
                    with self.cond:
                        self.written += len(chunk)
                        self.cond.notify_all()
            self._write.close()
            self._verify(digest.hexdigest())
            with self.cond:  # the clients finish now; storing is for the next ones
                self.verified = True
                self.cond.notify_all()
            final_path = store(self, digest.hexdigest())
        except Exception as e:  # any failure: readers abort, nothing is stored
            message = str(e) if isinstance(e, (DownloadFailed, UpstreamError)) else (
                f"download of {self.url} failed: {e.__class__.__name__}: {e}"
            )
            log.warning("mirror: %s", message)
            self._finish("failed", error=message)
        else:
            self._finish("done", final_path=final_path)

    def _verify(self, sha256: str) -> None:
        if self.size is not None and self.written != self.size:
            raise DownloadFailed(
                f"upstream sent {self.written} bytes of {self.url}, expected {self.size}"
            )
        if self.sha256 and sha256 != self.sha256:
            raise DownloadFailed(
                f"upstream's bytes of {self.key.filename} hash to sha256 {sha256}, "
                f"not the published {self.sha256}: not stored"
            )
        self.sha256 = sha256

    def _finish(self, state: str, *, error: str | None = None, final_path: str | None = None) -> None:
        if not self._write.closed:
            self._write.close()
        with self.cond:
            self.state, self.error, self.final_path = state, error, final_path
            self.started = True
            if self._read_fd is not None:
                os.close(self._read_fd)
                self._read_fd = None
            self.cond.notify_all()
        try:
            os.unlink(self.tmp_path)
        except FileNotFoundError:
            pass

    # --- readers ------------------------------------------------------------------------

    def wait_started(self, timeout: float) -> None:
        """Wait until upstream has answered; raise DownloadFailed if it failed first."""
        with self.cond:
            self.cond.wait_for(lambda: self.started, timeout)
            if self.state == "failed":
                raise DownloadFailed(self.error)
            if not self.started:
                raise DownloadFailed(f"upstream did not answer for {self.url} in {timeout:.0f} s")

    def reader(self, idle_timeout: float) -> Iterator[bytes]:
        """An iterator over the file's bytes as they arrive; raises if the download fails."""
        with self.cond:
            if self.state == "done":
                return _file_chunks(open(self.final_path, "rb"))
            if self.state == "failed":
                raise DownloadFailed(self.error)
            fd = os.dup(self._read_fd)
        follower = _Follower(self, fd, idle_timeout)
        try:
            # Wait for the first bytes here, in the view: a download that fails before any
            # byte could be sent is a clear 502, not a server error half-way into a response.
            follower.prime()
        except BaseException:
            follower.close()
            raise
        return follower


class _Follower:
    """Reads a download's temporary file behind the writer; holds the last byte until verified."""

    def __init__(self, download: Download, fd: int, idle_timeout: float) -> None:
        self.download = download
        self.fd = fd
        self.offset = 0
        self.idle_timeout = idle_timeout
        self._first: list[bytes] = []

    def __iter__(self):
        return self

    def prime(self) -> None:
        """Read the first chunk now (it is returned first); raises if the download failed."""
        try:
            self._first.append(self._read())
        except StopIteration:  # an empty file
            pass

    def _available(self) -> int | None:
        d = self.download
        if d.verified:  # good bytes, even if storing them fails afterwards
            return d.written
        if d.state == "failed":
            raise DownloadFailed(d.error)
        if d.state == "done":
            return d.written
        if d.size is not None:
            return min(d.written, d.size - 1)
        return d.written

    def __next__(self) -> bytes:
        if self._first:
            return self._first.pop()
        return self._read()

    def _read(self) -> bytes:
        d = self.download
        with d.cond:
            while True:
                available = self._available()
                if self.offset < available:
                    break
                if d.verified or d.state == "done":
                    raise StopIteration
                if not d.cond.wait(self.idle_timeout):
                    raise DownloadFailed(f"no bytes from upstream for {self.idle_timeout:.0f} s")
        data = os.pread(self.fd, min(CHUNK, available - self.offset), self.offset)
        self.offset += len(data)
        return data

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _file_chunks(f) -> Iterator[bytes]:
    with f:
        while chunk := f.read(CHUNK):
            yield chunk


class Downloads:
    """The downloads of one process: at most one per file, shared by every client that asks."""

    def __init__(self, db, upstream: Upstream, page_cache: PageCache,
                 background_workers: int = 4) -> None:
        self.db = db
        self.upstream = upstream
        self.page_cache = page_cache
        self._lock = threading.Lock()
        self._running: dict[FileKey, Download] = {}
        self._pool = ThreadPoolExecutor(background_workers, thread_name_prefix="mirror")

    def start(self, file: ReleaseFile, *, background: bool = False) -> Download:
        """The running download of ``file``, started if there is none."""
        key = FileKey.of(file)
        with self._lock:
            download = self._running.get(key)
            if download is not None and download.state != "failed":
                return download  # a failed one is leaving: the next request starts anew
            download = Download(key, file.upstream_url, file.sha256, file.size,
                                self.db.storage.temporaryDirectory())
            self._running[key] = download
        if background:  # redirect mode: a bounded pool, nobody waits for it
            self._pool.submit(self._run, download)
        else:  # streaming: a thread of its own, so waiting clients never queue behind others
            threading.Thread(target=self._run, args=(download,), daemon=True,
                             name=f"mirror-{key.filename}").start()
        return download

    def busy(self) -> bool:
        """Whether a download is still running (or storing what it fetched)."""
        with self._lock:
            return bool(self._running)

    def _run(self, download: Download) -> None:
        try:
            download.run(self.upstream, self._store)
        finally:
            with self._lock:
                if self._running.get(download.key) is download:  # not a successor's
                    del self._running[download.key]

    def _store(self, download: Download, sha256: str) -> str:
        """Hand the verified file to the database in a short transaction; return its blob path."""

        metadata = _wheel_metadata(download.tmp_path) if download.key.filename.endswith(".whl") else None
        page_changed = False

        def attach(file: ReleaseFile, path: str) -> None:
            nonlocal page_changed
            # Upstream may not have said the hash or size (an HTML page): now we know them.
            changed = (file.sha256, file.size) != (sha256, download.written)
            file.store(blob_from_file(file._p_jar, path), sha256, download.written)
            if metadata is not None and not file.core_metadata_sha256:
                # Upstream offers no .metadata for this wheel: serve the wheel's own.
                file.core_metadata = Blob(metadata)
                file.core_metadata_sha256 = hashlib.sha256(metadata).hexdigest()
                file.core_metadata_size = len(metadata)
                changed = True
            if changed:
                file.__parent__.changed()
            page_changed = changed

        path = store_blob(self.db, download.key, download.tmp_path, attach, lambda f: f.blob)
        if page_changed:
            try:
                with root_transaction(self.db) as root:
                    file = download.key.locate(root)
                    if file is not None:
                        render_ahead(file.__parent__.__parent__, self.page_cache)
            except Exception:  # the file is stored: a page not rendered ahead is no failure
                log.exception("mirror: rendering the pages of %s ahead failed", download.key.filename)
        return path

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _wheel_metadata(path: str) -> bytes | None:
    """The ``*.dist-info/METADATA`` of a wheel, or None when it has none (or is no zip)."""
    try:
        with zipfile.ZipFile(path) as wheel:
            names = [n for n in wheel.namelist()
                     if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
            return wheel.read(names[0]) if len(names) == 1 else None
    except (zipfile.BadZipFile, OSError, KeyError):
        return None


def store_blob(db, key: FileKey, source: str, attach: Callable[[ReleaseFile, str], None],
               current: Callable[[ReleaseFile], Blob | None]) -> str:
    """Attach the file at ``source`` to the tree in its own transaction, retrying conflicts.

    ``source`` itself is kept until the end: each attempt consumes a hard link to it, since a
    conflicting attempt's abort deletes what it consumed. If another process stored the
    same file first, its copy wins and ours is dropped: exactly one copy is kept.
    """
    links = []
    try:
        for attempt in range(STORE_ATTEMPTS):
            tm = transaction.TransactionManager()
            conn = db.open(transaction_manager=tm)
            try:
                with tm:
                    file = key.locate(app_root(conn))
                    if file is None:
                        raise DownloadFailed(f"{key.filename} was removed from the index meanwhile")
                    if current(file) is None:
                        links.append(f"{source}.{attempt}")
                        os.link(source, links[-1])
                        attach(file, links[-1])
                return current(file).committed()
            except ConflictError:
                log.info("mirror: conflict storing %s, attempt %d", key.filename, attempt + 1)
            finally:
                conn.close()
        raise DownloadFailed(f"could not store {key.filename}: the database stayed busy")
    finally:
        for link in links:  # consumed links are gone already; these are leftovers of failures
            try:
                os.unlink(link)
            except FileNotFoundError:
                pass


class MetadataFetches:
    """Core metadata of mirrored wheels: fetched once from upstream, verified, stored.

    The client gets the bytes as soon as they are verified; storing them follows in a
    thread of its own, and a client asking meanwhile gets the same verified bytes.
    """

    MAX_SIZE = 16 * 1024 * 1024

    def __init__(self, db, upstream: Upstream) -> None:
        self.db = db
        self.upstream = upstream
        self._lock = threading.Lock()
        self._locks: dict[FileKey, threading.Lock] = {}
        self._storing: dict[FileKey, bytes] = {}  # verified, not stored yet

    def fetch(self, file: ReleaseFile) -> bytes:
        """The METADATA bytes of a mirrored wheel; raise DownloadFailed naming the problem."""
        key = FileKey.of(file)
        url, expected = file.upstream_url + ".metadata", file.core_metadata_sha256
        with self._lock:
            if key in self._storing:
                return self._storing[key]
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # a second client waits for the first fetch, then reads what it got
            try:
                with self._lock:
                    if key in self._storing:
                        return self._storing[key]
                return self._fetch(key, url, expected)
            finally:
                with self._lock:
                    self._locks.pop(key, None)

    def busy(self) -> bool:
        """Whether fetched metadata is still being stored."""
        with self._lock:
            return bool(self._storing)

    def _fetch(self, key: FileKey, url: str, expected: str | None) -> bytes:
        stored = self._stored(key)
        if stored is not None:
            return stored
        with self.upstream.get(url, stream=True) as response:
            if response.status_code != 200:
                raise DownloadFailed(f"upstream {url} answered {response.status_code} {response.reason}")
            data = response.raw.read(self.MAX_SIZE + 1, decode_content=True)
        if len(data) > self.MAX_SIZE:
            raise DownloadFailed(f"upstream {url} is larger than {self.MAX_SIZE} bytes")
        sha256 = hashlib.sha256(data).hexdigest()
        if expected and sha256 != expected:
            raise DownloadFailed(
                f"upstream's {key.filename}.metadata hashes to sha256 {sha256}, not the published {expected}"
            )
        with self._lock:
            self._storing[key] = data
        threading.Thread(target=self._store, args=(key, data, sha256), daemon=True,
                         name=f"metadata-{key.filename}").start()
        return data

    def _store(self, key: FileKey, data: bytes, sha256: str) -> None:
        def attach(file: ReleaseFile, link: str) -> None:
            file.core_metadata = blob_from_file(file._p_jar, link)
            file.core_metadata_sha256 = sha256
            file.core_metadata_size = len(data)

        try:
            fd, path = tempfile.mkstemp(dir=self.db.storage.temporaryDirectory(), prefix="metadata-")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                store_blob(self.db, key, path, attach, lambda f: f.core_metadata)
            finally:
                os.unlink(path)
        except Exception:  # the client has its bytes; the next one fetches them again
            log.exception("mirror: storing %s.metadata failed", key.filename)
        finally:
            with self._lock:
                self._storing.pop(key, None)

    def _stored(self, key: FileKey) -> bytes | None:
        with root_transaction(self.db) as root:
            file = key.locate(root)
            if file is None or file.core_metadata is None:
                return None
            with file.core_metadata.open("r") as f:
                return f.read()


def mirror_busy(registry) -> Callable[[], bool]:
    """A check of whether the process's mirror is still storing what it fetched; it holds
    the registry weakly (for ``database.close_at_exit``)."""
    ref = weakref.ref(registry)

    def busy() -> bool:
        current = ref()
        return current is not None and (current.downloads.busy() or current.metadata_fetches.busy())

    return busy


def includeme(config) -> None:
    db = config.registry._zodb_databases[""]
    config.registry.downloads = Downloads(db, config.registry.upstream, config.registry.page_cache)
    config.registry.metadata_fetches = MetadataFetches(db, config.registry.upstream)
