"""Project pages looked up upstream on demand and merged into the tree.

What upstream said about a project (files, hashes, sizes, upload times, requires-python,
yanks, core-metadata hashes) is stored in the tree, so it survives restarts and serves when
upstream is down. Pages are re-checked after ``shop.mirror.index_ttl`` seconds with a
conditional request; an answer that changes nothing writes nothing.
"""
from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from dataclasses import dataclass, field

from shop.mirror.upstream import Upstream, UpstreamError, UpstreamNotFound, UpstreamPage
from shop.mirror.writer import Writer
from shop.model import approval, mirrored
from shop.model.listings import UpstreamListing, new_token, sort_entries
from shop.model.tree import Package, Repository
from shop.pages import simple
from shop.pages.cache import PageCache

log = logging.getLogger(__name__)

NOT_FOUND_TTL = 60.0  # seconds an upstream 404 is remembered
RESULT_TTL = 30.0  # seconds a fetched page is reused (a retried request must not fetch again)
PENDING_TTL = 120.0  # seconds an answer's view serves while the writer has not stored it
STORED_TTL = 5.0  # seconds it may still serve snapshots older than the commit that stored it


@dataclass(eq=False)
class Answer:
    """Upstream's new answer for a project, served before the writer stores it. Shared by
    the requests of every thread, so it holds no object of any connection: each request
    makes its own view of it (``pending_view``)."""

    listing: UpstreamListing  # transient: never added to a connection
    display: str  # upstream's spelling of the name
    pages: dict = field(default_factory=dict)  # content type -> Page, rendered of it


class MirrorState:
    """Per-process memory of the mirror: when each project was last checked, recent 404s."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._checked: dict[tuple[str, str], float] = {}
        self._not_found: dict[tuple[str, str], float] = {}
        self._results: dict[tuple[str, str], tuple[float, UpstreamPage | None]] = {}
        # Answers being stored (or just stored), by (repository, project): (until, answer).
        self._pending: dict[tuple[str, str], tuple[float, Answer]] = {}
        # Projects being asked about upstream: a request (or a prefetch) asking about the
        # same one waits, then finds its answer (a big project's page costs seconds to read).
        self._asking: dict[tuple[str, str], list] = {}

    @contextlib.contextmanager
    def asking(self, key: tuple[str, str]):
        """Hold the question about ``key`` to upstream (one at a time per project)."""
        with self._lock:
            entry = self._asking.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        try:
            with entry[0]:
                yield
        finally:
            with self._lock:
                entry[1] -= 1
                if not entry[1]:
                    del self._asking[key]

    def is_fresh(self, key: tuple[str, str], ttl: float) -> bool:
        return time.monotonic() < self.fresh_until(key, ttl)

    def fresh_until(self, key: tuple[str, str], ttl: float) -> float:
        """The ``time.monotonic()`` at which the project is due to be checked again."""
        return self._checked.get(key, float("-inf")) + ttl

    def mark_checked(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._checked[key] = time.monotonic()
            self._results.pop(key, None)

    def forget_checked(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._checked.pop(key, None)

    def known_missing(self, key: tuple[str, str]) -> bool:
        return time.monotonic() < self._not_found.get(key, float("-inf"))

    def mark_missing(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._not_found[key] = time.monotonic() + NOT_FOUND_TTL

    def add_pending(self, place: tuple[str, str], answer: Answer) -> None:
        with self._lock:
            self._pending[place] = (time.monotonic() + PENDING_TTL, answer)
            now = time.monotonic()
            for stale in [p for p, (until, _) in self._pending.items() if until < now]:
                del self._pending[stale]

    def stored_pending(self, place: tuple[str, str], answer: Answer) -> None:
        """The writer stored ``answer``: requests that begin now see it in the tree."""
        with self._lock:
            if self._pending.get(place, (0, None))[1] is answer:
                self._pending[place] = (time.monotonic() + STORED_TTL, answer)

    def drop_pending(self, place: tuple[str, str], answer: Answer) -> None:
        with self._lock:
            if self._pending.get(place, (0, None))[1] is answer:
                del self._pending[place]

    def pending(self, repository: Repository, name: str,
                stored: Package | None) -> Package | None:
        """A view (made for this request) of an answer being stored, unless ``stored`` (as
        this request's snapshot has the project) has it already; then it is forgotten."""
        place = (repository.__name__, name)
        entry = self._pending.get(place)
        if entry is None:
            return None
        until, answer = entry
        listing = stored.listing if stored is not None else None
        if time.monotonic() > until or (listing is not None and listing.token == answer.listing.token):
            self.drop_pending(place, answer)
            return None
        return pending_view(repository, name, answer, stored)

    def recent_result(self, key: tuple[str, str]) -> tuple[bool, UpstreamPage | None]:
        entry = self._results.get(key)
        if entry is None or time.monotonic() - entry[0] > RESULT_TTL:
            return False, None
        return True, entry[1]

    def remember_result(self, key: tuple[str, str], page: UpstreamPage | None) -> None:
        with self._lock:
            self._results[key] = (time.monotonic(), page)


def fresh_until(state: MirrorState, ttl: float, repository: Repository,
                package: Package) -> float | None:
    """Until when ``package`` is served as it is without asking upstream (a
    ``time.monotonic()``); None when its page does not depend on upstream at all."""
    if not repository.mirrors(package):
        return None
    return state.fresh_until((repository.upstream, package.__name__), ttl)


def lookup(repository: Repository, name: str, *, upstream: Upstream, state: MirrorState,
           ttl: float, writer: Writer, pages: PageCache) -> Package | None:
    """The current package for ``name``: from the tree, refreshed from upstream when stale.

    A new answer from upstream is served at once, as a transient package (``pending_view``),
    while the process's writer stores it; until the request's own snapshot sees it stored,
    the same view answers. Raises UpstreamError when upstream fails and nothing is cached;
    returns None when neither the tree nor upstream knows the project.
    """
    package = repository.get(name)
    if not repository.mirrors(package):
        return package
    key = (repository.upstream, name)
    with state.asking(key):  # one question per project at a time: the others wait for it
        return _look_up(repository, name, package, key, upstream=upstream, state=state,
                        ttl=ttl, writer=writer, pages=pages)


def _look_up(repository: Repository, name: str, package: Package | None, key: tuple[str, str],
             *, upstream: Upstream, state: MirrorState, ttl: float, writer: Writer,
             pages: PageCache) -> Package | None:
    """``lookup``, holding the project's question to upstream."""
    # What this process last heard from upstream: an answer being stored, or the tree's.
    current = state.pending(repository, name, package)
    if current is None:  # (not ``or``: a package without stored releases is falsy)
        current = package
    if current is not None and state.is_fresh(key, ttl):
        return current
    if current is None and state.known_missing(key):
        return None
    page = _ask(repository, name, current, upstream, state)
    if page is False:
        return current
    if page is None:  # unchanged since the listing's validators: nothing to write
        state.mark_checked(key)
        return current
    entries = entries_of(page)
    if mirrored.unchanged(current, entries, page.status, page.status_reason):
        state.mark_checked(key)
        return current
    return _write_later(repository, name, page, entries, package, state, writer, pages)


def _ask(repository: Repository, name: str, current: Package | None, upstream: Upstream,
         state: MirrorState) -> UpstreamPage | None | bool:
    """Upstream's answer for ``name`` (one fetched moments ago, if any): a page, None when
    unchanged since ``current``'s listing, False when upstream failed and ``current`` is
    served as it is (or, nothing cached, does not know it). Raises UpstreamError when
    upstream failed and nothing is cached.

    Upstream not knowing a project the tree has is a takedown, not a failure: an empty page
    (``taken_down``), so that its files are removed upstream. Only an answer says so; an
    upstream that cannot be reached, times out or answers 5xx changes nothing."""
    key = (repository.upstream, name)
    found, page = state.recent_result(key)
    if found:
        return page
    listing = current.listing if current is not None else None
    try:
        # Conditional only for a project with a listing: older ones migrate on a full answer.
        page = upstream.project_page(
            repository.upstream, name,
            etag=listing.etag if listing is not None else None,
            last_modified=listing.last_modified if listing is not None else None,
        )
    except UpstreamNotFound:
        state.mark_missing(key)  # for repositories that do not have it (the 404 stands)
        if current is None:
            return False
        log.warning("upstream no longer knows %s: its files are removed upstream", name)
        return taken_down(current)  # not remembered: another repository may not have it
    except UpstreamError as e:
        if current is None:
            raise
        log.warning("%s; serving the cached page of %s", e, name)
        return False
    state.remember_result(key, page)
    return page


def taken_down(current: Package) -> UpstreamPage:
    """What upstream's 404 (or 410) for a project the tree has says: it lists no file (and
    no status); without validators, so that the next re-check asks in full."""
    return UpstreamPage(name=current.name, files=(), etag=None, last_modified=None)


def entries_of(page: UpstreamPage) -> tuple[tuple, ...]:
    """Upstream's files as listing entries, sorted; a filename listed twice counts once."""
    seen: dict[tuple[str, str], tuple] = {}
    for entry in page.files:
        seen.setdefault((entry.release_key, entry.filename), entry)
    return sort_entries(seen.values())


def _write_later(repository: Repository, name: str, page: UpstreamPage, entries: tuple,
                 package: Package | None, state: MirrorState, writer: Writer,
                 pages: PageCache) -> Package:
    """Serve upstream's new answer now, as a transient package; store it in the writer, and
    with it the pages the view rendered meanwhile (when nothing else changed the project)."""
    token = new_token()
    listing = UpstreamListing(entries, page.etag, page.last_modified, token, page.status,
                              page.status_reason)
    answer = Answer(listing, page.name)
    place, key = (repository.__name__, name), (repository.upstream, name)
    state.add_pending(place, answer)
    state.mark_checked(key)  # the view is what upstream says now
    apply = functools.partial(
        _store_listing, repository_name=repository.__name__, upstream=repository.upstream,
        name=name, page=page, entries=entries, token=token, answer=answer, pages=pages,
        based_on=package.serial() if package is not None else None)
    done = functools.partial(_stored, state=state, place=place, key=key, answer=answer)

    def submit(*_status) -> None:
        writer.submit(apply, key=place, expected=True).add_done_callback(done)

    # Handed to the writer once the request has made its answer (and the view its pages):
    # however the request's own transaction ends, committed or aborted.
    writer.expect(place)
    current = repository._p_jar.transaction_manager.get()
    current.addAfterCommitHook(submit)
    current.addAfterAbortHook(submit)
    return pending_view(repository, name, answer, package)


def _store_listing(root, *, repository_name: str, upstream: str, name: str, page: UpstreamPage,
                   entries: tuple, token: str, answer: Answer, pages: PageCache,
                   based_on: int | None) -> bool:
    """The writer's job: make upstream's answer the stored project's listing (creating the
    project: awaiting approval, where new projects wait for it); False when the repository
    or the project no longer mirror it."""
    target = root.repositories.get(repository_name)
    if target is None or target.upstream != upstream:
        return False  # the repository went, or mirrors another upstream now
    stored = target.get(name)
    if not target.mirrors(stored):
        return False  # hosted here meanwhile: its listing is not shown
    if stored is None:
        if not approval.hold(target, name, page.name):
            return False  # awaiting approval, and no room for more requests: not stored
        stored, same = target.add(name, Package(page.name)), based_on is None
    else:
        same = stored.serial() == based_on
    if mirrored.replace_listing(stored, entries, page.etag, page.last_modified, token,
                                page.status, page.status_reason):
        stored.changed()
    if same:  # what the view showed is what the stored project shows
        simple.adopt_pages(stored, answer.pages, pages)
    return True


def _stored(future, *, state: MirrorState, place: tuple[str, str], key: tuple[str, str],
            answer: Answer) -> None:
    """After the writer's job: the view serves older snapshots a little longer, or (failed,
    or not stored) goes, and the next request asks upstream again."""
    if future.exception() is not None:
        log.warning("mirror: storing the listing of %s failed (%s); fetched again when"
                    " asked", place[1], future.exception())
        state.forget_checked(key)
    if future.exception() is not None or not future.result():
        state.drop_pending(place, answer)
    else:
        state.stored_pending(place, answer)


def pending_view(repository: Repository, name: str, answer: Answer,
                 stored: Package | None) -> Package:
    """A transient package showing ``answer`` before it is stored, made of this request's
    own objects: the stored package's records (if any) with the new listing; nothing of it
    is ever added to the tree. Its pages are the answer's, shared by every request."""
    view = Package(stored.name if stored is not None else answer.display)
    view.__name__, view.__parent__ = name, repository
    view.listing, view.pending_token = answer.listing, answer.listing.token
    view._v_pages = answer.pages
    if stored is not None:
        for attribute in ("_items", "_count", "owners", "hosted", "created", "hidden_upstream",
                          "status", "status_reason"):
            setattr(view, attribute, getattr(stored, attribute))
    return view
