"""Core metadata (PEP 658) of mirrored wheels: fetched once from upstream, verified, stored."""
from __future__ import annotations

import hashlib
import logging
import os
import threading
from typing import Callable

from shop.meters import UPSTREAM_BYTES
from shop.mirror.storing import DownloadFailed, FileKey, slot_or_not, store_blob, storing_slots
from shop.mirror.upstream import Upstream
from shop.mirror.writer import Writer
from shop.model.blobs import blob_from_file
from shop.model.tree import ReleaseFile
from shop.model.wheels import MAX_METADATA
from shop.scratch import ScratchFile
from shop.storage import root_transaction, temporary_directory

log = logging.getLogger(__name__)


class MetadataFetches:
    """Core metadata of mirrored wheels: fetched once from upstream, verified, stored.

    The client gets the bytes as soon as they are verified; storing them follows in a
    thread of its own, and a client asking meanwhile gets the same verified bytes.
    """

    # The limit of a wheel's own METADATA. urllib3 (2.6+) decompresses at most what read()
    # asks for, so a gzip-encoded answer is bounded by this too.
    MAX_SIZE = MAX_METADATA

    def __init__(self, db, upstream: Upstream, writer: Writer,
                 slots: threading.BoundedSemaphore | None = None) -> None:
        self.db = db
        self.writer = writer  # stores what was fetched, with the mirror's other writes
        self._slots = slots or storing_slots()  # a request thread's look for stored metadata
        self.upstream = upstream
        # Told (repository, METADATA) of every verified one: ``shop.mirror.prefetch``.
        self.on_metadata: Callable[[str, bytes], None] | None = None
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
            self.upstream.meters.note(UPSTREAM_BYTES, len(data))
        if len(data) > self.MAX_SIZE:
            raise DownloadFailed(f"upstream {url} is larger than {self.MAX_SIZE} bytes")
        sha256 = hashlib.sha256(data).hexdigest()
        if expected and sha256 != expected:
            raise DownloadFailed(
                f"upstream's {key.filename}.metadata hashes to sha256 {sha256}, not the published {expected}"
            )
        if self.on_metadata is not None:
            self.on_metadata(key.repository, data)  # its dependencies, looked up
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
            scratch = ScratchFile(temporary_directory(self.db), "metadata-")
            try:
                with scratch.writer() as f:
                    f.write(data)
                store_blob(self.writer, key, scratch.path, attach, lambda f: f.core_metadata)
            finally:
                os.unlink(scratch.path)
                scratch.release()
        except Exception:  # the client has its bytes; the next one fetches them again
            log.exception("mirror: storing %s.metadata failed", key.filename)
        finally:
            with self._lock:
                self._storing.pop(key, None)

    def _stored(self, key: FileKey) -> bytes | None:
        """The stored metadata, as the latest transaction has it (a request thread asks)."""
        with slot_or_not(self._slots), root_transaction(self.db) as root:
            file = key.locate(root)
            if file is None or file.core_metadata is None:
                return None
            with file.core_metadata.open("r") as f:
                return f.read()
