"""Rendered pages kept per process, keyed by the change counter of what they show.

A page is rendered once per change of its project (``Package.serial``) or project list
(``Repository.serial``) and shared by every thread, and so every ZODB connection, of the
process; it is never stored. Every change bumps the counter, and every process sees the new
value in its next transaction.
"""
from __future__ import annotations

import functools
import gzip
import time
from dataclasses import dataclass
from typing import Callable, Hashable

from shop.meters import PAGE_CACHE, Meters
from shop.pages.lru import BoundedLRU


BIG_PAGE = 1024 * 1024


@dataclass(frozen=True)
class Page:
    body: bytes
    content_type: str
    etag: str
    # When (``time.time()``) what it shows goes out of date by itself: a file the cooldown
    # holds back becomes old enough. None: only a change makes it out of date.
    expires: float | None = None

    @property
    def current(self) -> bool:
        return self.expires is None or time.time() < self.expires

    @functools.cached_property
    def gzipped(self) -> bytes:
        """The body compressed with gzip, made on first use and kept with the page."""
        # A big page (a mirrored project of thousands of files) is compressed fast: level 1
        # is three times quicker than 6 for a body a fifth larger.
        level = 6 if len(self.body) < BIG_PAGE else 1
        return gzip.compress(self.body, compresslevel=level, mtime=0)


class PageCache:
    """Rendered pages shared by every thread, and so every ZODB connection, of a process.

    A page is kept under the oid of the object it shows and its content type, with the
    version it was rendered from (the object's change counter, and what else changes the
    page). A page rendered in a transaction that changed the counter (a mirror lookup that
    learnt something new, say) is kept only once that transaction has committed the counter
    as it was rendered: it may still abort, or commit a merge with a concurrent change.
    Least recently used pages go first once ``max_bytes`` of bodies are kept.
    """

    def __init__(self, max_bytes: int, meters: Meters | None = None) -> None:
        self._pages: BoundedLRU[tuple[Hashable, Page]] = BoundedLRU(
            max_bytes, lambda entry: len(entry[1].body)
        )
        self.meters = meters if meters is not None else Meters()

    def get(self, obj, content_type: str, version: Hashable, render: Callable[[], Page]) -> Page:
        if getattr(obj, "pending_token", None) is not None:  # not in the tree at all
            return _transient_page(obj, content_type, version, render)
        counter = obj.serial
        committed = obj._p_oid is not None and counter._p_oid is not None and not counter._p_changed
        if committed:
            hit = self._pages.get((obj._p_oid, content_type))
            if hit is not None and hit[0] == version and hit[1].current:
                self.meters.note(PAGE_CACHE, outcome="hit")
                return hit[1]
        self.meters.note(PAGE_CACHE, outcome="miss")
        page = render()
        if committed:
            self._pages.put((obj._p_oid, content_type), (version, page))
        else:
            jar = _jar(obj)
            if jar is not None:
                jar.transaction_manager.get().addAfterCommitHook(
                    self._after_commit, (obj, counter, content_type, version, page)
                )
        return page

    def _after_commit(self, success: bool, obj, counter, content_type: str, version: Hashable,
                      page: Page) -> None:
        # A conflict resolved at commit (a concurrent change merged in) leaves the counter a
        # ghost; so does the cache's clean-up after a commit of thousands of objects. Neither
        # is loaded here: the connection does not see its own commit until its next transaction.
        if success and counter._p_changed is False:
            self._pages.put((obj._p_oid, content_type), (version, page))

    def content_types(self, obj) -> list[str]:
        """The content types of the pages kept for ``obj``, of any version: those asked for."""
        return [content_type for oid, content_type in self._pages.keys() if oid == obj._p_oid]

    @property
    def size(self) -> int:
        """Bytes of page bodies kept."""
        return self._pages.size

    @property
    def max_bytes(self) -> int:
        return self._pages.max_bytes


def _transient_page(obj, content_type: str, version: Hashable,
                    render: Callable[[], Page]) -> Page:
    """The page of a transient object (an answer of upstream's not stored yet), kept in its
    ``_v_pages`` (shared by every request's view of that answer, by content type: the
    version it was rendered from, and the page); never cached by oid."""
    pages = getattr(obj, "_v_pages", None)
    if pages is None:
        pages = obj._v_pages = {}
    kept = pages.get(content_type)
    if kept is None or kept[0] != version or not kept[1].current:
        kept = pages[content_type] = (version, render())
    return kept[1]


def _jar(obj):
    """The ZODB connection of ``obj``, or of its nearest stored ancestor (new objects have none)."""
    while obj is not None and obj._p_jar is None:
        obj = getattr(obj, "__parent__", None)
    return obj._p_jar if obj is not None else None
