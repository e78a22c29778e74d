"""Mirrored files: fetched from upstream once, streamed to every waiting client, then stored.

One download per file per process. It writes to a temporary file on the blob filesystem,
hashing as the bytes pass; every client that asks meanwhile reads along from that file
(``os.pread`` on its own descriptor), the first one included. The last byte is held back
until size and sha256 are verified, so a bad download never reaches a client as a
complete-looking file; once they are, the clients finish while the verified file becomes a
blob with ``consumeFile`` in the writer's next group commit ("transaction-aware mirror").
Anything else leaves no trace in the store.
"""
from __future__ import annotations

import errno
import hashlib
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterator

from ZODB.blob import Blob

from shop.meters import MIRROR_STORE, UPSTREAM_BYTES, Meters
from shop.mirror.following import CHUNK, Follower, file_chunks
from shop.mirror.provenance import fetch_provenance, kept
from shop.mirror.storing import (DownloadFailed, FileKey, StoredCopy, slot_or_not, store_blob,
                                 storing_slots)
from shop.mirror.upstream import Upstream, UpstreamError
from shop.mirror.writer import Writer
from shop.pages.cache import PageCache
from shop.postgresql import Claims, NoClaims
from shop.pages.simple import render_ahead
from shop.model.blobs import blob_from_file
from shop.model.tree import ReleaseFile
from shop.model.wheels import read_metadata
from shop.settings import GiB
from shop.scratch import ScratchFile, is_disk_full
from shop.storage import read_transaction, temporary_directory

log = logging.getLogger(__name__)

# A file's bytes as upstream has them: a compressed transfer would make Content-Length the
# compressed size and let the decoded bytes grow past every check.
IDENTITY = {"Accept-Encoding": "identity"}
# A file whose size no listing gives (HTML pages carry none) may be as large as an upload
# (GiB: shop.max_upload_size's default, for callers without settings).
UNKNOWN_SIZE_LIMIT = "shop.max_upload_size"
# A download that finds the disk full goes on from memory, so its clients still get the file
# (it is not stored); up to this many bytes of it, beyond that it fails.
PASS_THROUGH_LIMIT = 256 * 1024 * 1024


class Download:
    """One upstream download in progress, and what readers need to follow it."""

    provenance_url: str | None = None  # upstream's provenance of the file (PEP 740)

    def __init__(self, key: FileKey, url: str, sha256: str | None, size: int | None, tmp_dir: str,
                 max_size: int = GiB):
        self.key = key
        self.max_size = max_size  # for a file of unknown size
        self.listed = size is not None  # upstream's listing gave the size
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
        # Held until the download is over, so no start-up clean-up elsewhere removes it.
        self._scratch = ScratchFile(tmp_dir, "mirror-", ".part")
        self.tmp_path = self._scratch.path
        self._write = self._scratch.writer()
        self._read_fd: int | None = self._scratch.fd
        self.on_disk = 0  # bytes in the temporary file; past them, in memory (a full disk)
        self._spilled: bytearray | None = None

    # --- the downloading thread ---------------------------------------------------------

    def run(self, upstream: Upstream, store: Callable[["Download", str], str],
            stored: str | None = None) -> None:
        """Fetch the file from upstream, or (``stored``: the path of the copy another
        process stored meanwhile) read that copy, verified the same way."""
        try:
            digest = hashlib.sha256()
            if stored is not None:
                with StoredCopy(stored) as response:
                    self._receive(response, digest)
            else:
                try:
                    with upstream.get(self.url, stream=True, headers=IDENTITY) as response:
                        self._receive(response, digest)
                finally:
                    upstream.meters.note(UPSTREAM_BYTES, self.written)
            self._write.close()
            self._verify(digest.hexdigest())
            with self.cond:  # the clients finish now; storing is for the next ones
                self.verified = True
                self.cond.notify_all()
            if self._spilled is not None:
                raise OSError(errno.ENOSPC, "the disk filled up while it downloaded")
            final_path = store(self, digest.hexdigest())
        except Exception as e:  # any failure: readers abort (unless verified), nothing is stored
            level, message = self._failure(e)
            self._finish("failed", error=message)
            log.log(level, "mirror: %s", message)  # said once the temporary file is gone
        else:
            self._finish("done", final_path=final_path)

    def _receive(self, response, digest) -> None:
        """Take upstream's answer: its bytes into the temporary file, hashed as they pass."""
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
        self._check_room(0)  # a Content-Length over the cap, for a file not listed
        for chunk in response.iter_content(CHUNK):
            self._check_room(len(chunk))
            digest.update(chunk)
            self._keep(chunk)
            with self.cond:
                self.written += len(chunk)
                self.cond.notify_all()

    def _keep(self, chunk: bytes) -> None:
        """Write ``chunk`` to the temporary file; once the disk is full, keep it in memory."""
        view = memoryview(chunk)
        while self._spilled is None and view:
            try:
                written = os.write(self._write.fileno(), view)
            except OSError as e:
                if not is_disk_full(e):
                    raise
                self._spilled = bytearray()
                break
            self.on_disk += written
            view = view[written:]
        if self._spilled is not None and view:
            if len(self._spilled) + len(view) > PASS_THROUGH_LIMIT:
                raise OSError(errno.ENOSPC, f"no room for more than {PASS_THROUGH_LIMIT} bytes"
                              " in memory either")
            with self.cond:
                self._spilled += view

    def read_at(self, fd: int, offset: int, size: int) -> bytes:
        """Up to ``size`` bytes at ``offset``, from the temporary file (``fd``) or memory."""
        if offset < self.on_disk:
            return os.pread(fd, min(size, self.on_disk - offset), offset)
        with self.cond:
            start = offset - self.on_disk
            return bytes(self._spilled[start:start + size])

    def _failure(self, error: Exception) -> tuple[int, str]:
        """What went wrong, and how loudly to log it: an error for a full disk, a warning for
        upstream's faults."""
        if is_disk_full(error):
            served = " (its clients got the verified file)" if self.verified else ""
            return logging.ERROR, (f"the disk is full: {self.key.filename} was not stored{served};"
                                   f" it is fetched again when asked once there is room ({error})")
        return logging.WARNING, str(error) if isinstance(error, (DownloadFailed, UpstreamError)) else (
            f"download of {self.url} failed: {error.__class__.__name__}: {error}"
        )

    def _check_room(self, more: int) -> None:
        """Refuse bytes past the expected size (or, unknown, the cap) before writing them."""
        if self.size is not None and self.written + more > self.size:
            raise DownloadFailed(f"upstream sent more than the {self.size} bytes expected of"
                                 f" {self.url}: not stored")
        if not self.listed and max(self.size or 0, self.written + more) > self.max_size:
            raise DownloadFailed(f"upstream's {self.url}, of a size no listing gave, is larger"
                                 f" than {self.max_size} bytes ({UNKNOWN_SIZE_LIMIT}):"
                                 " not stored")

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
            self._read_fd = None
            self.cond.notify_all()
        try:
            os.unlink(self.tmp_path)
        except FileNotFoundError:
            pass
        self._scratch.release()

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
                return file_chunks(open(self.final_path, "rb"))
            if self.state == "failed":
                raise DownloadFailed(self.error)
            fd = os.dup(self._read_fd)
        follower = Follower(self, fd, idle_timeout)
        try:
            # Wait for the first bytes here, in the view: a download that fails before any
            # byte could be sent is a clear 502, not a server error half-way into a response.
            follower.prime()
        except BaseException:
            follower.close()
            raise
        return follower


class Downloads:
    """The downloads of one process: at most one per file, shared by every client that asks."""

    def __init__(self, db, upstream: Upstream, writer: Writer, pages: PageCache,
                 background_workers: int = 4, *, max_size: int = GiB,
                 meters: Meters | None = None, claims: Claims | None = None,
                 slots: threading.BoundedSemaphore | None = None) -> None:
        self.db = db
        self.slots = slots or storing_slots()  # for the connections opened outside requests
        # The processes on one PostgreSQL database claim each first download: one of them
        # fetches it, the others wait and read the copy it stored (shop.postgresql).
        self.claims = claims if claims is not None else NoClaims()
        self.meters = meters if meters is not None else Meters()
        self.writer = writer  # stores what was fetched, with the mirror's other writes
        self.pages = pages  # pages a stored file changed are rendered again for
        # Told (repository, METADATA) of every verified wheel: ``shop.mirror.prefetch``.
        self.on_metadata: Callable[[str, bytes], None] | None = None
        self.max_size = max_size  # of a file whose size upstream's listing does not give
        self.upstream = upstream
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
                                temporary_directory(self.db), self.max_size)
            download.provenance_url = file.upstream_provenance_url  # fetched with it
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
            key = download.key
            with self.claims.hold((key.repository, key.project, key.release, key.filename)) as claim:
                # Another process may have stored it since this one's request looked.
                stored = self._stored_elsewhere(key) if claim.shared else None
                if stored is not None:
                    claim.release()  # the next waiting process reads it too, at once
                download.run(self.upstream, self._store, stored)
        finally:
            with self._lock:
                if self._running.get(download.key) is download:  # not a successor's
                    del self._running[download.key]

    def _stored_elsewhere(self, key: FileKey) -> str | None:
        """The committed blob file of ``key`` if another process stored it, else None (also
        when it cannot be read: then this process fetches the file itself)."""
        try:
            with slot_or_not(self.slots), read_transaction(self.db) as root:
                file = key.locate(root)
                return file.blob.committed() if file is not None and file.blob is not None else None
        except Exception:
            log.exception("mirror: reading the copy of %s another process stored", key.filename)
            return None

    def _store(self, download: Download, sha256: str) -> str:
        """Hand the verified file to the writer (the next group commit); return its blob path.

        The project page changes only when the stored file says more than upstream's
        listing did (a hash or size an HTML page lacked; a wheel's own METADATA where
        upstream offers none); then the writer renders again, in its own connection once
        it has committed, the page in the content types clients asked for before."""
        metadata = read_metadata(download.tmp_path) if download.key.filename.endswith(".whl") else None
        if metadata is not None and self.on_metadata is not None:
            self.on_metadata(download.key.repository, metadata)  # its dependencies, looked up
        provenance = fetch_provenance(self.upstream, download, sha256)
        page_changed = stored = False

        def attach(file: ReleaseFile, path: str) -> None:
            nonlocal page_changed, stored
            stored = True  # this process's copy (another's may have been stored first)
            # Upstream may not have said the hash or size (an HTML page): now we know them.
            changed = (file.sha256, file.size) != (sha256, download.written)
            file.store(blob_from_file(file._p_jar, path), sha256, download.written)
            if metadata is not None and not file.core_metadata_sha256:
                # Upstream offers no .metadata for this wheel: serve the wheel's own.
                file.core_metadata = Blob(metadata)
                file.core_metadata_sha256 = hashlib.sha256(metadata).hexdigest()
                file.core_metadata_size = len(metadata)
                changed = True
            changed |= kept(file, provenance)  # the pages advertise it from now on
            if changed:
                file.__parent__.changed()
            page_changed = changed

        def committed(file: ReleaseFile) -> None:
            if page_changed:
                render_ahead(file.__parent__.__parent__, self.pages)

        path = store_blob(self.writer, download.key, download.tmp_path, attach,
                          lambda f: f.blob, committed)
        if stored:
            self.meters.note(MIRROR_STORE, download.written, repository=download.key.repository)
        return path

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
