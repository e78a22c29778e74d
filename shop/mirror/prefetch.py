"""Dependencies looked up upstream before a client asks for them.

An installer reads a project page, downloads a file, reads its metadata, and only then asks
for the pages of its dependencies, one after the other (pip does): each first look-up of a
dependency waits for upstream and for its answer to be read. Once the mirror has a wheel's
METADATA (a download it verified, or ``.metadata`` it fetched), the pages of the wheel's
dependencies are looked up in the background (``lookup``, as a request would, its answer
kept by the writer), so that the installer's own requests find them answered. Requirements
that only an extra asks for are left alone; at most ``MAX_PER_WHEEL`` per wheel, by at
most ``WORKERS`` threads, each with a connection of its own while it asks.
"""
from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from email.parser import BytesHeaderParser

from packaging.requirements import InvalidRequirement, Requirement

from shop.mirror.lookup import MirrorState, lookup
from shop.mirror.upstream import Upstream, UpstreamError
from shop.mirror.writer import Writer
from shop.model import names
from shop.pages.cache import PageCache
from shop.storage import root_transaction

log = logging.getLogger(__name__)

WORKERS = 2
MAX_PER_WHEEL = 32
MAX_QUEUED = 256  # look-ups waiting for a worker; past that, new ones are dropped


def dependencies(metadata: bytes) -> list[str]:
    """The normalized names a wheel's METADATA requires (not those only extras require)."""
    found = []
    for line in BytesHeaderParser().parsebytes(metadata).get_all("Requires-Dist") or ():
        try:
            requirement = Requirement(str(line))
        except InvalidRequirement:
            continue
        if requirement.marker is not None and "extra" in str(requirement.marker):
            continue
        name = names.normalize(requirement.name)
        if name not in found:
            found.append(name)
    return found[:MAX_PER_WHEEL]


class Prefetch:
    """The background look-ups of one process."""

    def __init__(self, db, upstream: Upstream, state: MirrorState, writer: Writer,
                 pages: PageCache, ttl: float) -> None:
        self.db, self.upstream, self.state, self.writer = db, upstream, state, writer
        self.pages, self.ttl = pages, ttl
        self._lock = threading.Lock()
        self._queued: set[tuple[str, str]] = set()
        self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="prefetch")

    def wheel_metadata(self, repository: str, metadata: bytes) -> None:
        """Look up (in the background) the dependencies a wheel of ``repository`` names."""
        for name in dependencies(metadata):
            place = (repository, name)
            with self._lock:
                if place in self._queued or len(self._queued) >= MAX_QUEUED:
                    continue
                self._queued.add(place)
            self._pool.submit(self._look_up, place)

    def busy(self) -> bool:
        with self._lock:
            return bool(self._queued)

    def _look_up(self, place: tuple[str, str]) -> None:
        repository_name, name = place
        try:
            with root_transaction(self.db) as root:
                repository = root.repositories.get(repository_name)
                if repository is not None and repository.mirrors(repository.get(name)):
                    lookup(repository, name, upstream=self.upstream, state=self.state,
                           ttl=self.ttl, writer=self.writer, pages=self.pages)
        except UpstreamError as e:
            log.info("mirror: prefetching %s: %s", name, e)
        except Exception:  # a client asking later looks it up itself
            log.exception("mirror: prefetching %s failed", name)
        finally:
            with self._lock:
                self._queued.discard(place)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
