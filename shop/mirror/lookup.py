"""Project pages looked up upstream on demand and merged into the tree.

What upstream said about a project (files, hashes, sizes, upload times, requires-python,
yanks, core-metadata hashes) is stored in the tree, so it survives restarts and serves when
upstream is down. Pages are re-checked after ``shop.mirror.index_ttl`` seconds with a
conditional request; an answer that changes nothing writes nothing.
"""
from __future__ import annotations

import logging
import threading
import time

from shop.mirror.upstream import Upstream, UpstreamError, UpstreamFile, UpstreamNotFound, UpstreamPage
from shop.model import names
from shop.model.tree import Package, Release, ReleaseFile, Repository

log = logging.getLogger(__name__)

NOT_FOUND_TTL = 60.0  # seconds an upstream 404 is remembered
RESULT_TTL = 30.0  # seconds a fetched page is reused (a retried request must not fetch again)


class MirrorState:
    """Per-process memory of the mirror: when each project was last checked, recent 404s."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._checked: dict[tuple[str, str], float] = {}
        self._not_found: dict[tuple[str, str], float] = {}
        self._results: dict[tuple[str, str], tuple[float, UpstreamPage | None]] = {}

    def is_fresh(self, key: tuple[str, str], ttl: float) -> bool:
        return time.monotonic() < self.fresh_until(key, ttl)

    def fresh_until(self, key: tuple[str, str], ttl: float) -> float:
        """The ``time.monotonic()`` at which the project is due to be checked again."""
        return self._checked.get(key, float("-inf")) + ttl

    def mark_checked(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._checked[key] = time.monotonic()
            self._results.pop(key, None)

    def known_missing(self, key: tuple[str, str]) -> bool:
        return time.monotonic() < self._not_found.get(key, float("-inf"))

    def mark_missing(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._not_found[key] = time.monotonic() + NOT_FOUND_TTL

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
           ttl: float) -> Package | None:
    """The current package for ``name``: from the tree, refreshed from upstream when stale.

    Raises UpstreamError when upstream fails and nothing is cached; returns None when neither
    the tree nor upstream knows the project. Writes happen in the caller's transaction (the
    repository's connection's) only when upstream said something new.
    """
    package = repository.get(name)
    if not repository.mirrors(package):
        return package
    key = (repository.upstream, name)
    if package is not None and state.is_fresh(key, ttl):
        return package
    if package is None and state.known_missing(key):
        return None
    found, page = state.recent_result(key)
    try:
        if not found:
            page = upstream.project_page(
                repository.upstream, name,
                etag=package.upstream_etag if package is not None else None,
                last_modified=package.upstream_last_modified if package is not None else None,
            )
            state.remember_result(key, page)
    except UpstreamNotFound:
        state.mark_missing(key)
        if package is not None:
            log.warning("upstream no longer knows %s; serving what is cached", name)
        return package
    except UpstreamError as e:
        if package is None:
            raise
        log.warning("%s; serving the cached page of %s", e, name)
        return package
    if page is not None:
        package = apply_page(repository, name, page)
    current = repository._p_jar.transaction_manager.get()
    current.addAfterCommitHook(lambda ok: ok and state.mark_checked(key))
    return package


def apply_page(repository: Repository, name: str, page: UpstreamPage) -> Package:
    """Merge what upstream said into the tree; touch nothing when nothing changed."""
    package = repository.get(name)
    if package is None:
        package = repository.add(name, Package(page.name))
    changed = False
    listed = set()
    for upstream_file in page.files:
        release_key = names.version_key(upstream_file.version)
        listed.add((release_key, upstream_file.filename))
        release = package.get(release_key)
        if release is None:
            release = package.add(release_key, Release(upstream_file.version))
        existing = release.get(upstream_file.filename)
        if existing is None:
            release.add(upstream_file.filename, _new_file(upstream_file))
            changed = True
        elif existing.origin == "mirror":
            changed |= _update_file(existing, upstream_file)
    changed |= _drop_unlisted(package, listed)
    if changed:
        package.upstream_etag = page.etag
        package.upstream_last_modified = page.last_modified
        package.changed()
    return package


def _new_file(f: UpstreamFile) -> ReleaseFile:
    file = ReleaseFile(
        f.filename,
        packagetype=f.packagetype,
        size=f.size,
        sha256=f.sha256,
        upload_time=f.upload_time,
        requires_python=f.requires_python,
        core_metadata_sha256=f.metadata_sha256,
    )
    file.origin = "mirror"
    file.upstream_url = f.url
    file.upload_time = f.upload_time  # unknown (None) for pages without it: never invented
    if f.yanked:
        file.yanked, file.yanked_reason = True, f.yanked_reason
    return file


def _update_file(file: ReleaseFile, f: UpstreamFile) -> bool:
    """Bring a mirrored file's record up to date; True if anything changed."""
    wanted = {
        "yanked": f.yanked,
        "yanked_reason": f.yanked_reason if f.yanked else "",
        "requires_python": f.requires_python,
        "upstream_url": f.url,
    }
    if file.core_metadata is None:
        wanted["core_metadata_sha256"] = f.metadata_sha256
    if file.blob is None:
        wanted["sha256"] = f.sha256
        wanted["size"] = f.size
    elif f.sha256 and f.sha256 != file.sha256:
        log.warning("upstream changed the bytes of %s; keeping the verified copy", file.filename)
    changes = {k: v for k, v in wanted.items() if getattr(file, k) != v}
    for attribute, value in changes.items():
        setattr(file, attribute, value)
    return bool(changes)


def _drop_unlisted(package: Package, listed: set) -> bool:
    """Forget mirrored files upstream no longer lists, unless their bytes are cached here."""
    dropped = False
    for release_key, release in list(package.items()):
        for filename, file in list(release.items()):
            if file.origin == "mirror" and file.blob is None and (release_key, filename) not in listed:
                release.remove(filename)
                dropped = True
        if not len(release):
            package.remove(release_key)
    return dropped
